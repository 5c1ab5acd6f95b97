import * as zlib from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import type { Compression } from '@ferry/core';
import { parallelGzip } from './parallel-gzip.js';

type ZstdFactory = (options?: object) => NodeJS.ReadWriteStream;
/** zstd arrived in node:zlib with Node 22.15; on older runtimes it is simply not offered. */
const createZstd = (zlib as unknown as { createZstdCompress?: ZstdFactory }).createZstdCompress;

export function compressionAvailable(compression: Compression): boolean {
  return compression !== 'zstd' || typeof createZstd === 'function';
}

export const COMPRESSION_MEDIA: Record<Exclude<Compression, 'none'>, { mediaType: string; extension: string }> = {
  gzip: { mediaType: 'application/gzip', extension: 'gz' },
  zstd: { mediaType: 'application/zstd', extension: 'zst' },
};

/**
 * Compress a byte stream. gzip runs as parallel independent members (valid gzip for every
 * reader); zstd uses the runtime's zlib. The output is pulled, so backpressure reaches the source.
 */
export function compress(source: AsyncIterable<Uint8Array>, compression: Compression, opts: { level: number; signal?: AbortSignal }): AsyncIterable<Uint8Array> {
  if (compression === 'none') return source;
  if (compression === 'gzip') return parallelGzip(source, { level: opts.level, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (!createZstd) throw new Error('zstd is not available in this Node.js runtime');
  const zstd = createZstd();
  pipeline(Readable.from(source), zstd, () => {});
  return zstd as unknown as AsyncIterable<Uint8Array>;
}
