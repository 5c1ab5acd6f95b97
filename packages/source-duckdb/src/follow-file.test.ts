import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { followFile } from './follow-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-follow-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

describe('following a file that is still being written', () => {
  it('yields every byte in order as it is appended, and ends only once the writer is done', async () => {
    const file = join(dir, 'out');
    const pieces = Array.from({ length: 20 }, (_, i) => `piece ${i};`);
    const written = (async () => {
      await delay(20); // the file does not exist yet when following starts
      await writeFile(file, '');
      for (const piece of pieces) {
        await appendFile(file, piece);
        await delay(3);
      }
    })();
    expect(await collect(followFile(file, written, { chunkBytes: 7, pollMs: 1 }))).toBe(pieces.join(''));
  });

  it('throws the writer\'s error, even with bytes still unread', async () => {
    const file = join(dir, 'out');
    await writeFile(file, 'x'.repeat(1000));
    const written = Promise.reject(new Error('COPY failed: disk full'));
    const chunks: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of followFile(file, written, { chunkBytes: 10 })) chunks.push(chunk.length);
      })(),
    ).rejects.toThrow('COPY failed: disk full');
    expect(chunks.reduce((a, b) => a + b, 0)).toBeLessThan(1000);
  });

  it('fails with ENOENT when the writer finished without ever creating the file', async () => {
    await expect(collect(followFile(join(dir, 'never'), Promise.resolve()))).rejects.toThrow(/ENOENT/);
  });

  it('gives a short read a buffer of its own size, so holding it does not hold a whole chunk', async () => {
    const file = join(dir, 'out');
    await writeFile(file, 'abc');
    const chunks: Uint8Array[] = [];
    for await (const chunk of followFile(file, Promise.resolve(), { chunkBytes: 1 << 20 })) chunks.push(chunk);
    expect(chunks.map((c) => [c.length, c.buffer.byteLength <= 8192])).toEqual([[3, true]]);
  });
});
