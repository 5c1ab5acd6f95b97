import { createHash } from 'node:crypto';

/** Small helpers over AsyncIterable<Uint8Array>, the one byte-stream shape every plugin speaks. */

export async function* tapBytes(
  source: AsyncIterable<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): AsyncIterable<Uint8Array> {
  for await (const chunk of source) {
    onChunk(chunk);
    yield chunk;
  }
}

export async function collectBytes(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source) parts.push(chunk);
  return Buffer.concat(parts);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}


/** What a measured body has seen so far; final once the body has been read to its end. */
export interface Measurement {
  size: number;
  sha256(): string;
  /** The error the caller's body threw, if any, so it can be rethrown unchanged instead of an SDK wrapper. */
  bodyError: unknown;
}

/**
 * Pass a body through while hashing and counting it, and stop at the first chunk after `signal` aborts.
 * Stores compute sha256 and size on the fly this way because an upload never holds the whole object.
 */
export function measure(
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
): { body: AsyncGenerator<Uint8Array>; result: Measurement } {
  const hash = createHash('sha256');
  let digest: string | undefined;
  const result: Measurement = {
    size: 0,
    bodyError: undefined,
    sha256: () => (digest ??= hash.digest('hex')),
  };
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source) {
        signal?.throwIfAborted();
        hash.update(chunk);
        result.size += chunk.byteLength;
        yield chunk;
      }
      // Checked once more at the end: an abort after the last chunk must still fail the put.
      signal?.throwIfAborted();
    } catch (err) {
      result.bodyError = err;
      throw err;
    }
  }
  return { body: body(), result };
}
