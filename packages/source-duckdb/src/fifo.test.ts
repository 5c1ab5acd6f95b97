import { constants } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FifoPool, READ_AHEAD_BYTES, type Fifo } from './fifo.js';

let dir: string;
let pool: FifoPool;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-fifo-'));
  pool = new FifoPool(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A writer as DuckDB is one: opens the pipe, writes each piece whole, closes. */
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

async function fifo(): Promise<Fifo> {
  const made = await pool.take();
  if (!made) throw new Error('mkfifo is part of coreutils on every machine this suite runs on');
  return made;
}

/**
 * A writer with far more than the pipe holds, and a reader that takes one chunk and leaves; the
 * writer's outcome for the caller to check (wrapped: an async function would wait for it).
 */
async function leaveEarly(pipe: Fifo): Promise<{ written: Promise<void> }> {
  const written = write(pipe.path, [Buffer.alloc(4 * READ_AHEAD_BYTES)]);
  written.catch(() => undefined);
  for await (const chunk of pipe.read(written)) {
    expect(chunk.length).toBeGreaterThan(0);
    break;
  }
  return { written };
}

describe('a COPY read through a named pipe', () => {
  it('yields every byte the writer wrote, in order, many times what the pipe holds at once', async () => {
    const pipe = await fifo();
    const pieces = Array.from({ length: 40 }, (_, i) => Buffer.alloc(100_000, 65 + (i % 26)));
    const written = write(pipe.path, pieces);
    expect((await collect(pipe.read(written))).equals(Buffer.concat(pieces))).toBe(true);
    pipe.cut();
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads ahead of a consumer that pauses, so the writer finishes without waiting for it', async () => {
    const pipe = await fifo();
    const pieces = Array.from({ length: 64 }, (_, i) => Buffer.alloc(READ_AHEAD_BYTES / 128, 97 + (i % 26)));
    const written = write(pipe.path, pieces);
    const reader = pipe.read(written);
    const first = await reader.next();
    // The consumer pauses (gzip busy, a file write) until the writer is done: far more than the pipe's
    // 64 KiB is in flight, so a reader that only read on demand would leave the writer blocked here.
    await written;
    const rest: Uint8Array[] = [];
    for await (const chunk of { [Symbol.asyncIterator]: () => reader }) rest.push(chunk);
    expect(Buffer.concat([first.value as Uint8Array, ...rest]).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('waits for a writer that opens the pipe late, without reading end-of-file first', async () => {
    const pipe = await fifo();
    const written = new Promise((resolve) => setTimeout(resolve, 50)).then(() => write(pipe.path, [Buffer.from('late but whole')]));
    expect((await collect(pipe.read(written))).toString()).toBe('late but whole');
  });

  it("throws the writer's error after what it wrote", async () => {
    const pipe = await fifo();
    const written = write(pipe.path, [Buffer.from('half a file')]).then(() => {
      throw new Error('COPY failed: out of memory');
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of pipe.read(written)) seen.push(Buffer.from(chunk).toString());
      })(),
    ).rejects.toThrow('COPY failed: out of memory');
    expect(seen.join('')).toBe('half a file');
  });

  it('does not wait forever for a writer that failed before opening the pipe', async () => {
    const pipe = await fifo();
    await expect(collect(pipe.read(Promise.reject(new Error('Binder Error: no such column'))))).rejects.toThrow('Binder Error');
  });

  it('fails a writer blocked on a full pipe once the reader leaves early', async () => {
    const pipe = await fifo();
    const { written } = await leaveEarly(pipe);
    await expect(written).rejects.toThrow(/EPIPE/);
  });

  it('a cut fails a writer blocked on a full pipe while the reader is suspended, and refuses a writer not yet there', async () => {
    const pipe = await fifo();
    const written = write(pipe.path, [Buffer.alloc(4 * READ_AHEAD_BYTES)]);
    written.catch(() => undefined);
    const reader = pipe.read(written);
    expect((await reader.next()).done).toBe(false); // then the consumer stops pulling
    pipe.cut();
    await expect(written).rejects.toThrow(/EPIPE/);
    // A writer that would open the pipe only now finds no path instead of waiting for a reader.
    await expect(write(pipe.path, [Buffer.from('late')])).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
    await reader.return(undefined);
  });
});

describe('pipes reused from one COPY to the next', () => {
  it('hands a pipe read to its end to the next COPY, which reads its own bytes and no others', async () => {
    const first = await fifo();
    expect((await collect(first.read(write(first.path, [Buffer.from('first export')])))).toString()).toBe('first export');
    first.close();
    const second = await fifo();
    expect(second.path).toBe(first.path);
    expect(await readdir(dir)).toHaveLength(1);
    // A reused pipe waits for its new writer as a new one does, rather than reading end-of-file first.
    const late = new Promise((resolve) => setTimeout(resolve, 50)).then(() => write(second.path, [Buffer.from('second'), Buffer.from(' export')]));
    expect((await collect(second.read(late))).toString()).toBe('second export');
  });

  it('never hands out again a pipe whose writer failed or whose reader left early', async () => {
    const failed = await fifo();
    const broken = write(failed.path, [Buffer.from('half')]).then(() => {
      throw new Error('COPY failed');
    });
    await expect(collect(failed.read(broken))).rejects.toThrow('COPY failed');
    failed.close();

    const left = await fifo();
    const { written } = await leaveEarly(left);
    left.close();
    await expect(written).rejects.toThrow(/EPIPE/);

    expect(await readdir(dir)).toEqual([]);
    const next = await fifo();
    expect([failed.path, left.path]).not.toContain(next.path);
  });

  it('gives the first COPY the pipe made ahead of it', async () => {
    await pool.prepare();
    const [made] = await readdir(dir);
    const pipe = await fifo();
    expect(pipe.path).toBe(join(dir, made!, 'export'));
    expect((await collect(pipe.read(write(pipe.path, [Buffer.from('ready')])))).toString()).toBe('ready');
    expect(await readdir(dir)).toEqual([made]);
  });

  it('replaces a kept pipe that vanished, and removes its folder', async () => {
    const kept = await fifo();
    await collect(kept.read(write(kept.path, [Buffer.from('first')])));
    kept.close();
    await rm(kept.path);
    const fresh = await fifo();
    expect(fresh.path).not.toBe(kept.path);
    expect(await readdir(dir)).toEqual([basename(dirname(fresh.path))]);
    expect((await collect(fresh.read(write(fresh.path, [Buffer.from('second')])))).toString()).toBe('second');
  });

  it('keeps no pipe once the pool is closed', async () => {
    const pipe = await fifo();
    await collect(pipe.read(write(pipe.path, [Buffer.from('done')])));
    pool.close();
    pipe.close();
    expect(await readdir(dir)).toEqual([]);
  });
});
