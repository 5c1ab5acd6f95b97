import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describeQuerySuite, sqlString, suiteTableSql } from '@ferry/testing';
import { DuckDBSource } from './source.js';
import { DuckDBSourceOptions } from './options.js';

let dir: string;

describeQuerySuite('duckdb over a Parquet file', {
  async setup() {
    dir = await mkdtemp(join(tmpdir(), 'ferry-duckdb-suite-'));
    const file = join(dir, 'rows.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      for (const sql of suiteTableSql('duckdb', 'rows')) await conn.run(sql);
      await conn.run(`COPY rows TO ${sqlString(file)} (FORMAT parquet)`);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
    const source = await DuckDBSource.create(DuckDBSourceDefaults, { dataDir: dir });
    return { source, relation: { file } };
  },
  async teardown() {
    await rm(dir, { recursive: true, force: true });
  },
});

const DuckDBSourceDefaults = DuckDBSourceOptions.parse({ batchRows: 7, threads: 2 });
