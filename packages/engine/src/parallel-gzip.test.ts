import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parallelGzip } from './parallel-gzip.js';

const run = promisify(execFile);
const BLOCK = 64 * 1024;

/** Deterministic CSV-like bytes (compressible but not trivially), delivered in uneven chunks. */
function csvLike(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (let row = 0; p < size; row++) {
    const line = `${row},customer ${(row * 7919) % 5003},${((row * 37) % 1000) / 7},2024-01-${String((row % 28) + 1).padStart(2, '0')}\n`;
    p += out.write(line, p, 'latin1');
  }
  return out;
}

async function* chunked(data: Buffer, sizes = [1, 7, 4096, 65_537, 300_000]): AsyncGenerator<Uint8Array> {
  let p = 0;
  for (let i = 0; p < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield data.subarray(p, p + n);
    p += n;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<{ bytes: Buffer; members: number }> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return { bytes: Buffer.concat(parts), members: parts.length };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('parallelGzip', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-pgzip-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const size of [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17]) {
    it(`gunzips to the exact input: ${size} bytes (zlib and gunzip)`, async () => {
      const input = csvLike(size);
      const { bytes, members } = await collect(parallelGzip(chunked(input), { blockBytes: BLOCK, workers: 2 }));
      expect(members).toBe(Math.max(1, Math.ceil(size / BLOCK)));
      expect(gunzipSync(bytes).equals(input)).toBe(true);
      const file = join(dir, `s${size}.gz`);
      await writeFile(file, bytes);
      const { stdout } = await run('gunzip', ['-c', file], { encoding: 'buffer', maxBuffer: 1 << 30 });
      expect(stdout.equals(input)).toBe(true);
    });
  }

  it('50 MB in 1 MiB members: gunzip, Python gzip and DuckDB read_csv all read the input back', async () => {
    const raw = csvLike(50 * 1000 * 1000);
    const input = raw.subarray(0, raw.lastIndexOf(10) + 1); // whole lines only, for read_csv
    const { bytes, members } = await collect(parallelGzip(chunked(input), { level: 1 }));
    expect(members).toBe(Math.ceil(input.length / (1 << 20)));
    expect(sha(gunzipSync(bytes))).toBe(sha(input));
    const file = join(dir, 'big.csv.gz');
    await writeFile(file, bytes);
    const gunzip = await run('sh', ['-c', `gunzip -c '${file}' | sha256sum`]);
    expect(gunzip.stdout.split(' ')[0]).toBe(sha(input));
    const python = await run('python3', ['-c', 'import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())', file]);
    expect(python.stdout.trim()).toBe(sha(input));
    // DuckDB in a child process: an independent reader (and the engine does not depend on DuckDB).
    const lines = input.toString('latin1').split('\n').length - 1;
    const script = `
      import { DuckDBInstance } from '@duckdb/node-api';
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      const r = await c.runAndReadAll("SELECT count(*), sum(column0) FROM read_csv('${file}', header=false, columns={'column0':'BIGINT','column1':'VARCHAR','column2':'DOUBLE','column3':'DATE'})");
      console.log(JSON.stringify(r.getRows()[0].map(String)));`;
    const duck = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
    expect(JSON.parse(duck.stdout)).toEqual([String(lines), String((lines * (lines - 1)) / 2)]);
  }, 120_000);

  it('reads back incompressible input, whose members outgrow one zlib output buffer', async () => {
    // Random bytes: each 256 KiB member deflates to a little more than its input, four times
    // zlib's output buffer here; the reused input blocks must not change under a running job.
    const input = randomBytes(10 * 256 * 1024 + 5);
    const { bytes, members } = await collect(parallelGzip(chunked(input), { blockBytes: 256 * 1024, workers: 2, level: 1 }));
    expect(members).toBe(11);
    expect(bytes.length).toBeGreaterThan(input.length);
    expect(gunzipSync(bytes).equals(input)).toBe(true);
  });

  it('keeps block order with many small blocks', async () => {
    // Every block distinct, sizes uneven: any reordering changes the output.
    const input = Buffer.concat(Array.from({ length: 2000 }, (_, i) => Buffer.from(`block-${i};`.repeat((i % 13) + 1))));
    const { bytes, members } = await collect(parallelGzip(chunked(input, [3, 50, 999]), { blockBytes: 97, workers: 3, level: 9 }));
    expect(members).toBe(Math.ceil(input.length / 97));
    expect(gunzipSync(bytes).equals(input)).toBe(true);
  });

  it('propagates a source error and stops', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield csvLike(3 * BLOCK);
      throw new Error('source broke');
    }
    await expect(collect(parallelGzip(failing(), { blockBytes: BLOCK }))).rejects.toThrow('source broke');
  });

  it('stops on abort and releases the source', async () => {
    const controller = new AbortController();
    let pulled = 0;
    let released = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          pulled++;
          if (pulled === 5) controller.abort(new Error('cancelled'));
          yield csvLike(BLOCK);
        }
      } finally {
        released = true;
      }
    }
    await expect(collect(parallelGzip(endless(), { blockBytes: BLOCK, signal: controller.signal }))).rejects.toThrow('cancelled');
    expect(pulled).toBe(5);
    expect(released).toBe(true);
  });

  it('bounds the read-ahead: the source is pulled only as output is consumed, and released on early exit', async () => {
    let pulled = 0;
    let released = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          pulled++;
          yield csvLike(BLOCK);
        }
      } finally {
        released = true;
      }
    }
    const workers = 2;
    for await (const _member of parallelGzip(endless(), { blockBytes: BLOCK, workers })) break;
    // The first member is emitted when 2 * workers blocks are in flight.
    expect(pulled).toBe(2 * workers);
    expect(released).toBe(true);
  });

  it('rejects bad options', async () => {
    await expect(collect(parallelGzip(chunked(Buffer.alloc(1)), { level: 10 }))).rejects.toThrow(RangeError);
    await expect(collect(parallelGzip(chunked(Buffer.alloc(1)), { workers: 0 }))).rejects.toThrow(RangeError);
    await expect(collect(parallelGzip(chunked(Buffer.alloc(1)), { blockBytes: 0 }))).rejects.toThrow(RangeError);
  });
});
