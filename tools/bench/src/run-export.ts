/**
 * One Ferry export in a fresh process (so peak RSS is this export's alone), through the real
 * export worker: source -> (pushdown | Arrow -> format) -> compression -> local store; or
 * `together` copies of it at once in the same worker, `repeat` times over. Prints one JSON line:
 * {seconds, warmSeconds, rows, bytes, peakRssMb, encodedBy} (rows and bytes of one copy; seconds
 * until the last is done, the first time; warmSeconds the median of the later times).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createCatalog, DatasetDefinition, silentLogger, type Compression, type ExportFormat, type FormatWriter, type QuerySource } from '@ferry/core';
import { DownloadLinks, ExportWorker, ensureImplicitEndpoint } from '@ferry/engine';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { LocalStore } from '@ferry/store-local';
import { duckdbSource } from '@ferry/source-duckdb';
import { postgresSource } from '@ferry/source-postgres';
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { parquetFormat } from '@ferry/format-parquet';
import { arrowFormat } from '@ferry/format-arrow';
import { rentalsDataset } from '@ferry/sample-rentals';
import { BENCH_COLUMNS, PG, PG_TABLE } from './dataset.js';
import { firstAndWarm } from './report.js';

const spec = JSON.parse(process.argv[2]!) as {
  source: 'duckdb' | 'postgres';
  parquet: string;
  format: ExportFormat;
  compression: Compression;
  /** Absent: the defaults users get (the source's own pushdown setting, the worker's). */
  pushdown?: boolean;
  /** Absent: the worker's default gzip level. */
  level?: number;
  limit?: number;
  /** `sample`: `parquet` is the sample dataset (19 columns, as `ferry serve` exposes it); the benchmark table otherwise. */
  dataset?: 'sample';
  /** PostgreSQL only: the source's readMode (its default when absent). */
  readMode?: 'binary' | 'text';
  /** Copies of the export run at once by the one worker (default 1; its default concurrency is 2). */
  together?: number;
  /** Times the export runs, one after another, in the same worker (default 1): the first pays what a worker does once. */
  repeat?: number;
};

const COLUMNS: ReadonlyArray<readonly [string, string, string]> =
  spec.dataset === 'sample' ? rentalsDataset(spec.parquet).columns.map((c) => [c.name, c.type, c.role] as const) : BENCH_COLUMNS;
const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-run-'));
const ctx = { logger: silentLogger, dataDir: dir };
const source: QuerySource =
  spec.source === 'duckdb'
    ? await duckdbSource.create(duckdbSource.options.parse(defined({ pushdown: spec.pushdown })), ctx)
    : await postgresSource.create(
        postgresSource.options.parse({ host: PG.host, port: PG.port, user: PG.user, database: PG.database, ...defined({ readMode: spec.readMode, pushdown: spec.pushdown }) }),
        ctx,
      );
const dataset =
  spec.dataset === 'sample'
    ? rentalsDataset(spec.parquet)
    : DatasetDefinition.parse({
        key: 'rentals',
        relation: spec.source === 'duckdb' ? { file: spec.parquet } : { table: PG_TABLE },
        columns: COLUMNS.map(([name, type, role]) => ({ name, type, role })),
        limits: { maxRows: 100_000_000 },
      });
const formats = new Map<string, FormatWriter>([
  ['csv', await csvFormat.create(csvFormat.options.parse({}), ctx)],
  ['jsonl', await jsonlFormat.create(jsonlFormat.options.parse({}), ctx)],
  ['parquet', await parquetFormat.create(parquetFormat.options.parse({}), ctx)],
  ['arrow', await arrowFormat.create(arrowFormat.options.parse({}), ctx)],
]);
const jobs = new SqliteJobStore({ file: join(dir, 'jobs.db') });
const account = await jobs.accounts.create({ name: 'bench', createdAt: new Date() });
const endpoint = await ensureImplicitEndpoint(jobs, account.id, 'https://example.invalid/hook', 'ferry-hmac', () => null);
const worker = new ExportWorker(
  { jobs, catalog: createCatalog([dataset]), sources: new Map([['default', source]]), formats, store: new LocalStore({ root: join(dir, 'exports') }), links: new DownloadLinks('c2VjcmV0', 'http://127.0.0.1'), logger: silentLogger },
  defined({ gzipLevel: spec.level, pushdown: spec.pushdown }),
);
/** Queue `together` copies of the export and run them side by side; their wall seconds and ids. */
async function runTogether(): Promise<{ seconds: number; ids: string[] }> {
  const ids = Array.from({ length: spec.together ?? 1 }, () => randomUUID());
  for (const id of ids) {
    await jobs.exports.insert({
      id,
      accountId: account.id,
      name: 'bench',
      format: spec.format,
      compression: spec.compression,
      webhookUrl: endpoint.url,
      endpointId: endpoint.id,
      datasetKey: 'rentals',
      // The limits (psql, DuckDB COPY) read the table unordered; so does this export.
      query: { scopes: COLUMNS.map(([column]) => ({ column })), orderBy: null, ...(spec.limit ? { limit: spec.limit } : {}) },
      hmacSignature: '0'.repeat(64),
      requestedAt: new Date(),
      notifyOnFailure: false,
      split: null,
    });
  }
  const t0 = performance.now();
  // Each runOnce claims one export: these run side by side, as the worker's pump runs its `concurrency`.
  await Promise.all(ids.map(() => worker.runOnce()));
  return { seconds: (performance.now() - t0) / 1000, ids };
}

let peak = process.memoryUsage.rss();
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
const runs: Array<{ seconds: number; ids: string[] }> = [];
for (let i = 0; i < (spec.repeat ?? 1); i++) runs.push(await runTogether());
clearInterval(timer);
const { ids } = runs[0]!;
const done = await Promise.all(runs.flatMap((r) => r.ids).map((id) => jobs.exports.get(id)));
const failed = done.find((j) => j?.state !== 'completed');
if (failed !== undefined) throw new Error(`export ${failed?.state}: ${failed?.error}`);
const job = (await jobs.exports.get(ids[0]!))!;
process.stdout.write(`${JSON.stringify({ ...firstAndWarm(runs.map((r) => r.seconds)), rows: job.result!.numberRows, bytes: job.result!.bytes, peakRssMb: peak / 1048576, encodedBy: job.result!.pushdown ? 'source' : 'ferry' })}\n`);
await source.close();
await jobs.close();
await rm(dir, { recursive: true, force: true });
