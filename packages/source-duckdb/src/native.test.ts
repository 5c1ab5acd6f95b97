import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
// Tests only: pushdown must match the default writers byte for byte, so it is checked against them.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { csvFormat } from '@ferry/format-csv';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { jsonlFormat } from '@ferry/format-jsonl';
import { describeNativeExport, exportTableSql, sqlString } from '@ferry/testing';
import { DuckDBSource } from './source.js';
import { DuckDBSourceOptions } from './options.js';

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
    return { source: await DuckDBSource.create(DuckDBSourceOptions.parse({ batchRows: 4, threads: 2 }), { dataDir: dir }), relation: { file } };
  },
  teardown: () => rm(dir, { recursive: true, force: true }),
});
