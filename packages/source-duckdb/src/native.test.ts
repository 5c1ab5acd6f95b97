import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
// Tests only: pushdown must read back as the default writers' output, so it is checked against them.
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { parquetFormat } from '@ferry/format-parquet';
import { describeNativeExport, exportTableSql, sqlString } from '@ferry/testing';
import { DuckDBSource } from './source.js';
import { DuckDBSourceOptions } from './options.js';
import { describe, it, expect } from 'vitest';
import { createCatalog, resolveQuery, DatasetDefinition } from '@ferry/core';

const ctx = { logger: { debug() {}, info() {}, warn() {}, error() {} }, dataDir: tmpdir() };
let dir: string;

describeNativeExport('duckdb', {
  writers: {
    csv: await csvFormat.create(csvFormat.options.parse({}), ctx),
    jsonl: await jsonlFormat.create(jsonlFormat.options.parse({}), ctx),
    parquet: await parquetFormat.create(parquetFormat.options.parse({}), ctx),
  },
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

describe('which formats DuckDB writes itself', () => {
  const dataset = DatasetDefinition.parse({ key: 't', relation: { sql: 'SELECT 1 AS x' }, columns: [{ name: 'x', type: 'integer', role: 'dimension' }] });
  const query = resolveQuery(createCatalog([dataset]), { scopes: [{ column: 'x' }] });
  const pushedDown = async (options: Record<string, unknown>): Promise<string[]> => {
    const source = await DuckDBSource.create(DuckDBSourceOptions.parse(options), { dataDir: tmpdir() });
    const formats: string[] = [];
    try {
      for (const format of ['csv', 'jsonl', 'parquet', 'xlsx']) {
        const native = await source.exportNative(query, format, { signal: new AbortController().signal });
        if (!native) continue;
        for await (const chunk of native.body) expect(chunk.length).toBeGreaterThan(0);
        expect(await native.rows).toBe(1);
        formats.push(format);
      }
    } finally {
      await source.close();
    }
    return formats;
  };

  it('by default Parquet only: its COPY measured many times faster than the Arrow path, csv and jsonl no faster', async () => {
    expect(await pushedDown({})).toEqual(['parquet']);
  });

  it('every format it can with true, none with false, the listed ones otherwise; never a format it does not know', async () => {
    expect(await pushedDown({ pushdown: true })).toEqual(['csv', 'jsonl', 'parquet']);
    expect(await pushedDown({ pushdown: false })).toEqual([]);
    expect(await pushedDown({ pushdown: ['jsonl'] })).toEqual(['jsonl']);
  });

  it('refuses a format name it does not write in its options, naming the option', () => {
    const parsed = DuckDBSourceOptions.safeParse({ pushdown: ['parquet', 'xlsx'] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['pushdown']);
  });

  it('keeps the row cap of an export asked for in no order, which DuckDB writes without ordering its scan', async () => {
    const source = await DuckDBSource.create(DuckDBSourceOptions.parse({ threads: 2 }), { dataDir: tmpdir() });
    try {
      const big = DatasetDefinition.parse({ key: 'big', relation: { sql: 'SELECT range AS x FROM range(300000)' }, columns: [{ name: 'x', type: 'bigint', role: 'dimension' }] });
      for (const orderBy of [null, undefined]) {
        const capped = resolveQuery(createCatalog([big]), { scopes: [{ column: 'x' }], limit: 1000, ...(orderBy === null ? { orderBy } : {}) });
        const native = await source.exportNative(capped, 'parquet', { signal: new AbortController().signal });
        let bytes = 0;
        for await (const chunk of native!.body) bytes += chunk.length;
        expect(bytes).toBeGreaterThan(0);
        expect(await native!.rows).toBe(1000);
      }
    } finally {
      await source.close();
    }
  });
});
