import { createGzip } from 'node:zlib';
import { Readable, pipeline } from 'node:stream';

/**
 * gzip a byte stream. The output is pulled, so backpressure reaches the source; a source error
 * surfaces to the consumer, and a consumer that stops early releases the source.
 */
export function gzip(source: AsyncIterable<Uint8Array>, level = 6): AsyncIterable<Uint8Array> {
  const zip = createGzip({ level, chunkSize: 256 * 1024 });
  pipeline(Readable.from(source), zip, () => {});
  return zip;
}
