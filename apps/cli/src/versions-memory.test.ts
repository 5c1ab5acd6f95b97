import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { createCatalog, silentLogger, type DatasetDefinition, type PluginContext, type QuerySource } from '@ferry/core';
import { VersionPublisher, type VersionDeps } from '@ferry/engine';
import { DuckDBSnapshotEngine } from '@ferry/snapshots-duckdb';
import { duckdbSource } from '@ferry/source-duckdb';
import { parquetFormat } from '@ferry/format-parquet';
import { localStore } from '@ferry/store-local';
import { SqliteJobStore } from '@ferry/jobs-sqlite';

const ROWS = Number(process.env.FERRY_MEM_ROWS ?? 1_500_000);
const MB = 1024 * 1024;

let dir: string;
let sourceFile: string;
let ctx: PluginContext;
let deps: VersionDeps;
let sources: Map<string, QuerySource>;
let snapshots: DuckDBSnapshotEngine;

const dataset: DatasetDefinition = {
  key: 'big',
  source: 'big',
  relation: { table: 'big' },
  columns: [
    { name: 'id', type: 'bigint', role: 'dimension', exportable: true },
    { name: 'name', type: 'string', role: 'dimension', exportable: true },
    { name: 'amount', type: 'double', role: 'measure', exportable: true },
    { name: 'flag', type: 'boolean', role: 'dimension', exportable: true },
  ],
  primaryKey: ['id'],
  limits: { maxRows: ROWS },
  versioning: { counters: { flagged: 'count(*) FILTER (WHERE flag)' }, maxRows: 2 * ROWS },
};

async function sql(statements: string[]): Promise<void> {
  const db = await DuckDBInstance.create(sourceFile);
  const c = await db.connect();
  for (const s of statements) await c.run(s);
  c.closeSync();
  db.closeSync();
}

/** The source holds the file open; a writer runs between publishes with the source closed. */
async function reopenSource(): Promise<void> {
  await sources.get('big')?.close();
  sources.set('big', await duckdbSource.create(duckdbSource.options.parse({ path: sourceFile, threads: 2, memoryLimit: process.env.FERRY_SRC_MEM ?? '128MB' }), ctx));
}

/**
 * Peak growth above the start while `fn` runs, sampled every 10 ms: RSS (everything, DuckDB's
 * native memory and wasm included) and JS memory (heap plus ArrayBuffers, where Arrow batches live).
 */
async function peakGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; rssMb: number; jsMb: number }> {
  const js = (m: NodeJS.MemoryUsage) => m.heapUsed + m.arrayBuffers;
  const base = process.memoryUsage();
  let rss = base.rss;
  let jsPeak = js(base);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    jsPeak = Math.max(jsPeak, js(m));
  }, 10);
  try {
    const result = await fn();
    return { result, rssMb: (rss - base.rss) / MB, jsMb: (jsPeak - js(base)) / MB };
  } finally {
    clearInterval(timer);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-versions-memory-'));
  sourceFile = join(dir, 'big.duckdb');
  ctx = { logger: silentLogger, dataDir: dir };
  await sql([`CREATE TABLE big AS SELECT i::BIGINT AS id, 'name-' || i AS name, i * 0.5 AS amount, i % 7 = 0 AS flag FROM range(${ROWS}) t(i)`]);
  sources = new Map();
  await reopenSource();
  snapshots = await DuckDBSnapshotEngine.create({ memoryLimit: process.env.FERRY_SNAP_MEM ?? '64MB', threads: 2, tempDirectory: join(dir, 'spill') });
  deps = {
    jobs: new SqliteJobStore({ file: join(dir, 'ferry.db') }),
    catalog: createCatalog([dataset]),
    sources,
    formats: new Map([['parquet', await parquetFormat.create(parquetFormat.options.parse({}), ctx)]]),
    store: await localStore.create(localStore.options.parse({}), ctx),
    snapshots,
    logger: silentLogger,
    publicUrl: () => 'http://127.0.0.1:1',
    tmpDir: dir,
  };
  // Warm up the code paths once (module loading, wasm instantiation) so they do not count as growth.
  const warm = new VersionPublisher({ ...deps, catalog: createCatalog([{ ...dataset, key: 'warm', relation: { table: 'warm' }, versioning: { maxRows: 10 } }]) });
  await sql([`CREATE VIEW warm AS SELECT * FROM big WHERE id < 10`]);
  await reopenSource();
  await warm.publish('warm');
}, 120_000);

afterAll(async () => {
  await sources.get('big')?.close();
  await snapshots?.close();
  await deps?.jobs.close();
  await rm(dir, { recursive: true, force: true });
});

describe('publishing a large dataset', () => {
  it(`materializes and diffs ${ROWS.toLocaleString('en')} rows in flat memory (no row enters the JS heap)`, async () => {
    const publisher = new VersionPublisher(deps);
    const first = await peakGrowth(() => publisher.publish('big'));
    expect(first.result).toMatchObject({ versionNumber: 1, rowCount: ROWS, changedRowCount: ROWS, counters: { flagged: Math.ceil(ROWS / 7) } });

    await sql([
      `UPDATE big SET amount = -1 WHERE id % 1000 = 0`,
      `DELETE FROM big WHERE id % 1000 = 1`,
      `INSERT INTO big SELECT i::BIGINT, 'new-' || i, 0, false FROM range(${ROWS}, ${ROWS + 500}) t(i)`,
    ]);
    await reopenSource();
    const second = await peakGrowth(() => publisher.publish('big'));
    expect(second.result).toMatchObject({ versionNumber: 2, rowCount: ROWS - ROWS / 1000 + 500, changedRowCount: ROWS / 1000 + ROWS / 1000 + 500 });

    // For scale: 1.5M rows as JS objects take several hundred MB of heap, growing with the rows.
    // What stays bounded here is JS memory (batches stream through, one at a time). RSS also counts
    // DuckDB's native buffers: the source's ORDER BY sort and the diff's join, each capped by its
    // memory_limit and spilling past it; the bound is loose because allocators keep freed pages.
    console.info(
      `publish v1: +${first.rssMb.toFixed(0)} MB rss, +${first.jsMb.toFixed(0)} MB js; v2 (diff): +${second.rssMb.toFixed(0)} MB rss, +${second.jsMb.toFixed(0)} MB js`,
    );
    for (const run of [first, second]) {
      expect(run.jsMb).toBeLessThan(64);
      expect(run.rssMb).toBeLessThan(450);
    }
  });
});
