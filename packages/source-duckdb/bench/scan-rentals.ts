/**
 * Rough throughput check of the Arrow path: every column of the generated rentals dataset
 * (998,400 rows) through `open()`, against DuckDB fetching the same chunks with no conversion.
 * In no order (`orderBy: null`), as exports run by default: an ordered query would time DuckDB's
 * sort instead.
 * Usage: npx tsx packages/source-duckdb/bench/scan-rentals.ts [dataDir]
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createCatalog, resolveQuery } from '@ferry/core';
import { compileQuery } from '@ferry/query-sql';
import { ensureRentalsDataset, rentalsDataset } from '@ferry/sample-rentals';
import { DuckDBSource } from '../src/source.js';
import { DuckDBSourceOptions } from '../src/options.js';

const dataDir = process.argv[2] ?? join(tmpdir(), 'ferry-bench');
const dataset = rentalsDataset(await ensureRentalsDataset(dataDir));
const query = resolveQuery(createCatalog([dataset]), { scopes: dataset.columns.map((c) => ({ column: c.name })), orderBy: null });

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
let started = performance.now();
const { sql, params } = compileQuery(query, 'duckdb');
// What the source sets for a query in no order (source.ts, orderAsAsked).
await conn.run('SET preserve_insertion_order = false');
const result = await conn.stream(sql, params);
let baseline = 0;
let chunks = 0;
for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
  baseline += chunk.rowCount;
  chunks++;
}
const fetchOnly = performance.now() - started;
conn.closeSync();
instance.closeSync();

const source = await DuckDBSource.create(DuckDBSourceOptions.parse({}), { dataDir });
started = performance.now();
const stream = await source.open(query, { signal: new AbortController().signal });
let rows = 0;
for await (const batch of stream.batches) rows += batch.numRows;
const arrow = performance.now() - started;
await source.close();

console.log(`DuckDB fetch only: ${baseline} rows in ${(fetchOnly / 1000).toFixed(2)} s (${chunks} chunks, ${((fetchOnly / chunks) * 1000).toFixed(0)} us each)`);
console.log(`open() to Arrow:   ${rows} rows in ${(arrow / 1000).toFixed(2)} s (ratio ${(arrow / fetchOnly).toFixed(2)})`);
