/**
 * The PostgreSQL source alone, in a fresh process: read the whole benchmark table as Arrow batches
 * and drop them, so the figure is the read and decode cost without a format or a store.
 * Prints one JSON line: {seconds, rows, peakRssMb}.
 */
import { createCatalog, DatasetDefinition, resolveQuery, silentLogger } from '@ferry/core';
import { postgresSource } from '@ferry/source-postgres';
import { BENCH_COLUMNS, PG, PG_TABLE } from './dataset.js';

const readMode = process.argv[2] as 'binary' | 'text';
const source = await postgresSource.create(postgresSource.options.parse({ host: PG.host, port: PG.port, user: PG.user, database: PG.database, readMode }), {
  logger: silentLogger,
  dataDir: '.',
});
const catalog = createCatalog([
  DatasetDefinition.parse({
    key: 'rentals',
    relation: { table: PG_TABLE },
    columns: BENCH_COLUMNS.map(([name, type, role]) => ({ name, type, role })),
    limits: { maxRows: 100_000_000 },
  }),
]);
// Unordered, as the limit (psql \copy) reads it.
const query = resolveQuery(catalog, { from: 'rentals', scopes: BENCH_COLUMNS.map(([column]) => ({ column })), orderBy: null });

let peak = process.memoryUsage.rss();
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
const t0 = performance.now();
const stream = await source.open(query, { signal: new AbortController().signal });
let rows = 0;
for await (const batch of stream.batches) rows += batch.numRows;
const seconds = (performance.now() - t0) / 1000;
clearInterval(timer);
process.stdout.write(`${JSON.stringify({ seconds, rows, peakRssMb: peak / 1048576 })}\n`);
await source.close();
