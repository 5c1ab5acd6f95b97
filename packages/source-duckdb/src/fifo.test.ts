import { constants } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFifo, readFifo } from './fifo.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-fifo-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A writer as DuckDB is one: opens the pipe (waiting for the reader), writes each piece whole, closes. */
async function write(path: string, pieces: readonly Buffer[]): Promise<void> {
  const handle = await open(path, constants.O_WRONLY);
  try {
    for (const piece of pieces) {
      for (let at = 0; at < piece.length; ) at += (await handle.write(piece, at)).bytesWritten;
    }
  } finally {
    await handle.close();
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

describe('a COPY read through a named pipe', () => {
  it('yields every byte the writer wrote, in order, more than the pipe holds at once', async () => {
    const fifo = (await makeFifo(dir))!;
    const pieces = Array.from({ length: 40 }, (_, i) => Buffer.alloc(100_000, 65 + (i % 26)));
    const written = write(fifo.path, pieces);
    expect((await collect(readFifo(fifo.path, written))).equals(Buffer.concat(pieces))).toBe(true);
    await fifo.cleanup();
    expect(await readdir(dir)).toEqual([]);
  });

  it('throws the writer\'s error after what it wrote', async () => {
    const fifo = (await makeFifo(dir))!;
    const written = write(fifo.path, [Buffer.from('half a file')]).then(() => {
      throw new Error('COPY failed: out of memory');
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of readFifo(fifo.path, written)) seen.push(Buffer.from(chunk).toString());
      })(),
    ).rejects.toThrow('COPY failed: out of memory');
    expect(seen.join('')).toBe('half a file');
  });

  it('does not wait forever for a writer that failed before opening the pipe', async () => {
    const fifo = (await makeFifo(dir))!;
    const written = Promise.reject(new Error('Binder Error: no such column'));
    await expect(collect(readFifo(fifo.path, written))).rejects.toThrow('Binder Error');
  });

  it('fails a writer blocked on a full pipe once the reader leaves early', async () => {
    const fifo = (await makeFifo(dir))!;
    const written = write(fifo.path, [Buffer.alloc(8 << 20)]);
    written.catch(() => undefined);
    for await (const chunk of readFifo(fifo.path, written, 4096)) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await expect(written).rejects.toThrow(/EPIPE/);
  });
});
