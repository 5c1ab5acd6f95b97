import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
// Tests only: pushdown must read back as the default writers' output, so it is checked against them.
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { parquetFormat } from '@ferry/format-parquet';
import { describeNativeExport, describePushdownOption, exportTableSql, sqlString } from '@ferry/testing';
import { DuckDBSource } from './source.js';
import { DuckDBSourceOptions } from './options.js';
import { describe, it, expect } from 'vitest';
import { readdir } from 'node:fs/promises';
import { createCatalog, resolveQuery, DatasetDefinition, FerryError } from '@ferry/core';

const ctx = { logger: { debug() {}, info() {}, warn() {}, error() {} }, dataDir: tmpdir() };
let dir: string;

describeNativeExport('duckdb', {
  writers: {
    csv: await csvFormat.create(csvFormat.options.parse({}), ctx),
    jsonl: await jsonlFormat.create(jsonlFormat.options.parse({}), ctx),
    parquet: await parquetFormat.create(parquetFormat.options.parse({}), ctx),
  },
  pushesDownDoubles: true,
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

describePushdownOption('DuckDB', {
  create: (options) => DuckDBSource.create(DuckDBSourceOptions.parse(options), { dataDir: tmpdir() }),
  options: DuckDBSourceOptions,
  all: ['csv', 'jsonl', 'parquet'],
  byDefault: ['csv', 'jsonl', 'parquet'],
});

describe('DuckDB pushdown', () => {
  it('keeps the row cap of an export asked for in no order, which DuckDB reads and writes without ordering its scan', async () => {
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
        // The Arrow path reads the same query unordered too (and holds less memory for it).
        const stream = await source.open(capped, { signal: new AbortController().signal });
        let rows = 0;
        for await (const batch of stream.batches) rows += batch.numRows;
        expect(rows).toBe(1000);
      }
    } finally {
      await source.close();
    }
  });
});

describe('what DuckDB writes itself', () => {
  const exportAll = async (source: DuckDBSource, sql: string, format: string, columns: Array<{ name: string; type: string }>) => {
    const dataset = DatasetDefinition.parse({ key: 't', relation: { sql }, columns: columns.map((c) => ({ ...c, role: 'dimension' })), limits: { maxRows: 10_000_000 } });
    const query = resolveQuery(createCatalog([dataset]), { scopes: columns.map((c) => ({ column: c.name })), orderBy: null });
    const native = await source.exportNative(query, format, { signal: new AbortController().signal });
    const parts: Buffer[] = [];
    for await (const chunk of native!.body) parts.push(Buffer.from(chunk));
    return { bytes: Buffer.concat(parts), rows: await native!.rows };
  };

  /** The pipe folders in a source's scratch directory. */
  const pipesIn = async (source: DuckDBSource) => (await readdir(source.scratchDir)).filter((name) => name.startsWith('copy-'));

  it("puts timestamps and non-finite doubles in Ferry's layout: T-separated, Z for UTC, NaN and Infinity words (JSON strings)", async () => {
    const source = await DuckDBSource.create(DuckDBSourceOptions.parse({ pushdown: true }), { dataDir: tmpdir() });
    try {
      const sql = `SELECT * FROM (VALUES (TIMESTAMP '2024-01-02 03:04:05.5', TIMESTAMPTZ '2024-01-02 03:04:05+00', 'NaN'::DOUBLE), (TIMESTAMP '2024-01-02 03:04:05', TIMESTAMPTZ '2024-01-02 05:04:05+02', '-Infinity'::DOUBLE)) t(ts, tz, r)`;
      const columns = [
        { name: 'ts', type: 'timestamp' },
        { name: 'tz', type: 'timestamp' },
        { name: 'r', type: 'double' },
      ];
      const csv = (await exportAll(source, sql, 'csv', columns)).bytes.toString('utf8').split('\n').sort();
      expect(csv).toEqual(['', '2024-01-02T03:04:05,2024-01-02T03:04:05Z,-Infinity', '2024-01-02T03:04:05.5,2024-01-02T03:04:05Z,NaN', 'ts,tz,r']);
      const jsonl = (await exportAll(source, sql, 'jsonl', columns)).bytes.toString('utf8').split('\n').sort();
      expect(jsonl).toEqual([
        '',
        '{"ts":"2024-01-02T03:04:05","tz":"2024-01-02T03:04:05Z","r":"-Infinity"}',
        '{"ts":"2024-01-02T03:04:05.5","tz":"2024-01-02T03:04:05Z","r":"NaN"}',
      ]);
    } finally {
      await source.close();
    }
  });

  it('streams a file DuckDB is still writing: a 3M-row export arrives whole, in order of the file, and the next export reuses its pipe', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-duckdb-follow-'));
    const source = await DuckDBSource.create(DuckDBSourceOptions.parse({ threads: 2, pushdown: true }), { dataDir });
    try {
      const sql = 'SELECT range AS x, range * 2 AS y FROM range(3000000)';
      const columns = [
        { name: 'x', type: 'bigint' },
        { name: 'y', type: 'bigint' },
      ];
      const { bytes, rows } = await exportAll(source, sql, 'parquet', columns);
      expect(rows).toBe(3_000_000);
      const file = join(dataDir, 'streamed.parquet');
      await writeFile(file, bytes);
      const check = await DuckDBInstance.create(':memory:');
      const conn = await check.connect();
      const [count, sumX, sumY] = (await conn.runAndReadAll(`SELECT count(*), sum(x), sum(y) FROM read_parquet(${sqlString(file)})`)).getRows()[0]!;
      conn.closeSync();
      check.closeSync();
      expect([Number(count), String(sumX), String(sumY)]).toEqual([3_000_000, '4499998500000', '8999997000000']);
      const pipes = await pipesIn(source);
      expect(pipes).toHaveLength(1);
      // The next export gets that pipe, and only its own bytes through it.
      const next = await exportAll(source, 'SELECT range AS x, -range AS y FROM range(10)', 'csv', columns);
      expect(next.rows).toBe(10);
      const lines = next.bytes.toString('utf8').split('\n');
      expect([lines[0], ...lines.slice(1).sort()]).toEqual(['x,y', ...['', ...Array.from({ length: 10 }, (_, i) => `${i},${-i}`)].sort()]);
      expect(await pipesIn(source)).toEqual(pipes);
      const scratch = source.scratchDir;
      await source.close();
      await expect(readdir(scratch)).rejects.toThrow(/ENOENT/);
    } finally {
      await source.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('makes a pipe while it starts only when it may write files itself', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-duckdb-ready-'));
    const pipes = async (pushdown: boolean) => {
      const source = await DuckDBSource.create(DuckDBSourceOptions.parse({ pushdown }), { dataDir });
      try {
        return (await pipesIn(source)).length;
      } finally {
        await source.close();
      }
    };
    try {
      expect(await pipes(true)).toBe(1);
      expect(await pipes(false)).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  /** A source on a data dir of its own, closed and removed after `fn`. */
  const withSource = async (options: Record<string, unknown>, fn: (source: DuckDBSource) => Promise<void>): Promise<void> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-duckdb-copy-'));
    const source = await DuckDBSource.create(DuckDBSourceOptions.parse({ threads: 2, ...options }), { dataDir });
    try {
      await fn(source);
    } finally {
      await source.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  // A billion rows as csv: only an interrupted COPY lets a test of it end within its time limit.
  const endless = (source: DuckDBSource, signal: AbortSignal) => {
    const dataset = DatasetDefinition.parse({
      key: 't',
      relation: { sql: 'SELECT range AS x FROM range(1000000000)' },
      columns: [{ name: 'x', type: 'bigint', role: 'dimension' }],
      limits: { maxRows: 1_000_000_000 },
    });
    return source.exportNative(resolveQuery(createCatalog([dataset]), { scopes: [{ column: 'x' }], orderBy: null }), 'csv', { signal });
  };

  it('stops the COPY and removes its pipe when the reader leaves early', async () => {
    await withSource({}, async (source) => {
      const native = await endless(source, new AbortController().signal);
      let bytes = 0;
      for await (const chunk of native!.body) {
        bytes += chunk.length;
        if (bytes > 1 << 20) break;
      }
      await expect(native!.rows).rejects.toThrow(/not read to the end/);
      expect(source.activeStreams).toBe(0);
      expect(await pipesIn(source)).toEqual([]);
    });
  });

  // A consumer that stops pulling (a stalled upload) leaves DuckDB waiting on a full pipe: neither
  // an abort nor closing the source may wait for that write.
  describe('a consumer that stopped pulling', () => {
    const stalled = async (source: DuckDBSource, signal: AbortSignal) => {
      const native = (await endless(source, signal))!;
      const body = native.body[Symbol.asyncIterator]();
      expect((await body.next()).done).toBe(false);
      // Long enough for DuckDB to fill the pipe and block in its write.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { body, rows: native.rows };
    };

    it('is stopped by an abort: the COPY fails as aborted and its pipe is removed', async () => {
      await withSource({}, async (source) => {
        const controller = new AbortController();
        const native = await stalled(source, controller.signal);
        controller.abort(new FerryError('ABORTED', 'shutting down'));
        await expect(native.body.next()).rejects.toThrow('shutting down');
        await expect(native.rows).rejects.toThrow('shutting down');
        expect(source.activeStreams).toBe(0);
        expect(await pipesIn(source)).toEqual([]);
      });
    });

    it('does not hold up closing the source', async () => {
      await withSource({}, async (source) => {
        const native = await stalled(source, new AbortController().signal);
        await source.close();
        expect(source.activeStreams).toBe(0);
        await expect(native.body.next()).rejects.toThrow();
      });
    });
  });
});
