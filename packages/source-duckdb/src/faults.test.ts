import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { createCatalog, DatasetDefinition, FerryError, resolveQuery, type DatasetQuery } from '@ferry/core';
import { DuckDBSourceOptions } from './options.js';
import { DuckDBSource } from './source.js';
import { tempDir } from './test-fixtures.js';
import { WIDE_SORT_QUERY, wideSortDataset } from './test-support/wide-sort.js';
import { TS_CHILD_NODE_ARGS } from '@ferry/testing/support';

const SPILLING_SOURCE = fileURLToPath(new URL('./test-support/spilling-source.ts', import.meta.url));
const never = new AbortController().signal;

const WIDE_SORT = wideSortDataset();
const SORTED = WIDE_SORT_QUERY;

/** Bytes under `dir`, recursively (0 when it does not exist). */
async function du(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const e of entries) if (e.isFile()) total += (await stat(join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size;
  return total;
}

async function create(dataDir: string, options: Partial<DuckDBSourceOptions> = {}): Promise<DuckDBSource> {
  await mkdir(dataDir, { recursive: true });
  return DuckDBSource.create(DuckDBSourceOptions.parse({ memoryLimit: '48MB', threads: 2, ...options }), { dataDir });
}

let dir: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('ferry-duckdb-faults-');
});
afterAll(async () => {
  await dir.cleanup();
});

describe('DuckDB source: permanent and transient failures', () => {
  let source: DuckDBSource;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = join(dir.dir, 'errors');
    await mkdir(dataDir, { recursive: true });
    const db = await DuckDBInstance.create(join(dataDir, 'shop.duckdb'));
    const c = await db.connect();
    await c.run(`CREATE TABLE orders(id INTEGER, note VARCHAR)`);
    await c.run(`INSERT INTO orders VALUES (1, 'one'), (2, 'two')`);
    c.closeSync();
    db.closeSync();
    source = await create(dataDir, { path: 'shop.duckdb', readOnly: true });
  });
  afterAll(async () => {
    await source.close();
  });

  async function failure(dataset: unknown, query: DatasetQuery): Promise<FerryError> {
    const catalog = createCatalog([DatasetDefinition.parse(dataset)]);
    const err = await (async () => {
      const stream = await source.open(resolveQuery(catalog, query), { signal: never });
      for await (const batch of stream.batches) void batch;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  }

  it('a column the table lacks is QUERY_FAILED, not retryable, with the database reason', async () => {
    const err = await failure(
      { key: 'orders', relation: { table: 'orders' }, columns: [{ name: 'id', type: 'integer', role: 'dimension' }, { name: 'amount', type: 'decimal', role: 'measure' }] },
      { from: 'orders', scopes: [{ column: 'id' }, { column: 'amount' }] },
    );
    expect(err).toMatchObject({ code: 'QUERY_FAILED', retryable: false, plugin: 'source:duckdb' });
    expect(err.message).toMatch(/^DuckDB query failed: Binder Error: .*"amount"/);
  });

  it('a missing table and a value that does not convert are not retryable either', async () => {
    const table = await failure({ key: 'gone', relation: { table: 'refunds' }, columns: [{ name: 'id', type: 'integer', role: 'dimension' }] }, { from: 'gone', scopes: [{ column: 'id' }] });
    expect(table).toMatchObject({ code: 'QUERY_FAILED', retryable: false, message: expect.stringContaining('Catalog Error') });
    const cast = await failure(
      { key: 'casted', relation: { sql: `SELECT id, CAST(note AS INTEGER) AS n FROM orders` }, columns: [{ name: 'id', type: 'integer', role: 'dimension' }, { name: 'n', type: 'integer', role: 'dimension' }] },
      { from: 'casted', scopes: [{ column: 'n' }] },
    );
    expect(cast).toMatchObject({ code: 'QUERY_FAILED', retryable: false, message: expect.stringContaining('Conversion Error') });
  });

  it('a file that is not there (yet) is worth another attempt', async () => {
    const err = await failure({ key: 'later', relation: { file: join(dataDir, 'tomorrow.parquet') }, columns: [{ name: 'id', type: 'integer', role: 'dimension' }] }, { from: 'later', scopes: [{ column: 'id' }] });
    expect(err).toMatchObject({ code: 'QUERY_FAILED', retryable: true, message: expect.stringContaining('IO Error') });
  });
});

describe('DuckDB source: spill files', () => {
  it('a stream abandoned mid-way releases its spill files at once', async () => {
    const dataDir = join(dir.dir, 'abandon');
    const source = await create(dataDir);
    try {
      const stream = await source.open(resolveQuery(createCatalog([WIDE_SORT]), SORTED), { signal: never });
      for await (const batch of stream.batches) {
        expect(batch.numRows).toBeGreaterThan(0);
        // The sort is done and spilled before the first rows come out.
        expect(await du(source.scratchDir)).toBeGreaterThan(50 * 1024 * 1024);
        break;
      }
      expect(source.activeStreams).toBe(0);
      expect(await du(source.scratchDir)).toBeLessThan(1024 * 1024);
    } finally {
      await source.close();
    }
    expect(await readdir(join(dataDir, 'duckdb-tmp'))).toEqual([]);
  });

  it('two sources on one data dir spill into their own directories and both sort right', async () => {
    const dataDir = join(dir.dir, 'shared');
    const [a, b] = [await create(dataDir, { threads: 1 }), await create(dataDir, { threads: 1 })];
    try {
      expect(a.scratchDir).not.toBe(b.scratchDir);
      const checksum = async (source: DuckDBSource): Promise<string> => {
        const stream = await source.open(resolveQuery(createCatalog([wideSortDataset(1_200_000)]), SORTED), { signal: never, batchRows: 65_536 });
        let previous = '';
        let rows = 0;
        for await (const batch of stream.batches) {
          // Spot checks: corrupt spill blocks fail the read or come back out of order.
          const s = batch.getChild('s')!;
          for (const i of [0, batch.numRows >> 1, batch.numRows - 1]) {
            const value = s.get(i) as string;
            if (value < previous) throw new Error(`out of order at row ${rows + i}`);
            previous = value;
          }
          rows += batch.numRows;
        }
        return `${rows}:${previous}`;
      };
      const [x, y] = await Promise.all([checksum(a), checksum(b)]);
      expect(x).toBe(y);
      expect(x.startsWith('1200000:')).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("the next start removes a killed process's spill directory, and keeps a live one's", async () => {
    const dataDir = join(dir.dir, 'killed');
    const child = spawn(process.execPath, [...TS_CHILD_NODE_ARGS, SPILLING_SOURCE, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!out.includes('spilled')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the child did not spill: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const live = await create(dataDir);
    try {
      const [dead] = (await readdir(join(dataDir, 'duckdb-tmp'))).filter((n) => join(dataDir, 'duckdb-tmp', n) !== live.scratchDir);
      expect(dead).toMatch(new RegExp(`^source-${child.pid}-`));
      child.kill('SIGKILL');
      await exited;
      expect(await du(join(dataDir, 'duckdb-tmp', dead!))).toBeGreaterThan(10 * 1024 * 1024);
      // A spill file from a release that spilled into duckdb-tmp itself, an hour old.
      await writeFile(join(dataDir, 'duckdb-tmp', 'duckdb_temp_storage_DEFAULT-0.tmp'), Buffer.alloc(1024));
      const hourAgo = new Date(Date.now() - 3_600_000);
      execFileSync('touch', ['-d', hourAgo.toISOString(), join(dataDir, 'duckdb-tmp', 'duckdb_temp_storage_DEFAULT-0.tmp')]);

      const next = await create(dataDir);
      try {
        expect((await readdir(join(dataDir, 'duckdb-tmp'))).sort()).toEqual([live.scratchDir, next.scratchDir].map((p) => p.split('/').pop()).sort());
      } finally {
        await next.close();
      }
    } finally {
      child.kill('SIGKILL');
      await live.close();
    }
  });
});

describe('DuckDB source: a full disk', () => {
  let disk: string;
  let skip: string | null = null;
  beforeAll(async () => {
    disk = join(dir.dir, 'disk');
    await mkdir(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (err) {
      skip = `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
      console.warn(`skipping the full-disk test: ${skip}`);
    }
  });
  afterAll(async () => {
    if (!skip) execFileSync('umount', [disk]);
    await rm(disk, { recursive: true, force: true });
  });

  it('says "disk full" (STORAGE_FULL, retryable) rather than out of memory, and frees the spill files', async (ctx) => {
    if (skip) ctx.skip();
    const source = await create(disk);
    try {
      // Another tenant of the disk (exports, the job store) has taken most of it.
      await writeFile(join(disk, 'filler'), Buffer.alloc(16 * 1024 * 1024));
      const err = await (async () => {
        const stream = await source.open(resolveQuery(createCatalog([WIDE_SORT]), SORTED), { signal: never });
        for await (const batch of stream.batches) void batch;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FerryError);
      expect(err).toMatchObject({ code: 'STORAGE_FULL', retryable: true, message: expect.stringMatching(/^disk full: /) });
      expect((err as Error).message).not.toMatch(/Out of Memory/i);
      expect(await du(source.scratchDir)).toBeLessThan(1024 * 1024);
    } finally {
      await source.close();
    }
  });
});
