import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
// Tests only: pushdown must match the default writers byte for byte, so it is checked against them.
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { describeNativeExport, exportTableSql, sqlString } from '@ferry/testing';
import { DuckDBSource } from './source.js';
import { DuckDBSourceOptions } from './options.js';
import { it, expect } from 'vitest';
import { createCatalog, resolveQuery, DatasetDefinition } from '@ferry/core';

const ctx = { logger: { debug() {}, info() {}, warn() {}, error() {} }, dataDir: tmpdir() };
let dir: string;

describeNativeExport('duckdb', {
  writers: { csv: await csvFormat.create(csvFormat.options.parse({}), ctx), jsonl: await jsonlFormat.create(jsonlFormat.options.parse({}), ctx) },
  async setup() {
    dir = await mkdtemp(join(tmpdir(), 'ferry-duckdb-native-'));
    const file = join(dir, 'exports.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      for (const sql of exportTableSql('duckdb', 'exports')) await conn.run(sql);
      await conn.run(`COPY exports TO ${sqlString(file)} (FORMAT parquet)`);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
    return { source: await DuckDBSource.create(DuckDBSourceOptions.parse({ batchRows: 4, threads: 2, pushdown: true }), { dataDir: dir }), relation: { file } };
  },
  teardown: () => rm(dir, { recursive: true, force: true }),
});

it('leaves pushdown off unless asked (the Arrow path measured as fast, with less memory)', async () => {
  const source = await DuckDBSource.create(DuckDBSourceOptions.parse({}), { dataDir: tmpdir() });
  try {
    const dataset = DatasetDefinition.parse({ key: 't', relation: { sql: 'SELECT 1 AS x' }, columns: [{ name: 'x', type: 'integer', role: 'dimension' }] });
    const query = resolveQuery(createCatalog([dataset]), { scopes: [{ column: 'x' }] });
    expect(await source.exportNative(query, 'csv', { signal: new AbortController().signal })).toBeNull();
  } finally {
    await source.close();
  }
});
