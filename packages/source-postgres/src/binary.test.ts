import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, makeVector, type Data, type RecordBatch, type Schema } from 'apache-arrow';
import { createCatalog, DatasetDefinition, FerryError, resolveQuery, type DatasetQuery } from '@ferry/core';
import { describePostgres, requirePostgres } from '@ferry/testing';
import { to as copyTo } from 'pg-copy-streams';
import { binaryColumns } from './binary-columns.js';
import { BinaryDecoder } from './binary-decoder.js';
import { PostgresSourceOptions } from './options.js';
import { PostgresSource } from './source.js';
import { localOptions, withSchema } from './test-support.js';

const service = await requirePostgres();
const never = new AbortController().signal;

/** Captures the fallback notice, so a test knows which path really read the query. */
function recordingLogger(): { logger: { debug(o: object | string, m?: string): void; info(): void; warn(): void; error(): void }; fallbacks: unknown[] } {
  const fallbacks: unknown[] = [];
  return {
    fallbacks,
    logger: {
      debug(obj, msg) {
        if (typeof msg === 'string' && msg.includes('reading this query as text')) fallbacks.push(obj);
      },
      info() {},
      warn() {},
      error() {},
    },
  };
}

/** Every cell as its exact stored value: 64-bit integers as bigint, decimals as their four words, text as strings. */
function cells(data: Data): unknown[] {
  const vector = makeVector(data);
  return Array.from({ length: data.length }, (_, i) => {
    if (!data.getValid(i)) return null;
    const at = data.offset + i;
    if (DataType.isDecimal(data.type)) return Array.from((data.values as Uint32Array).subarray(at * 4, at * 4 + 4));
    if (DataType.isUtf8(data.type) || DataType.isBool(data.type)) return vector.get(i) as unknown;
    return (data.values as ArrayLike<unknown>)[at];
  });
}

interface Read {
  schema: Schema;
  fields: string[];
  sizes: number[];
  columns: Record<string, unknown[]>;
}

async function read(source: PostgresSource, catalog: ReturnType<typeof createCatalog>, from: string, query: Omit<DatasetQuery, 'from'>, batchRows?: number): Promise<Read> {
  const stream = await source.open(resolveQuery(catalog, { from, ...query }), { signal: never, ...(batchRows ? { batchRows } : {}) });
  const batches: RecordBatch[] = [];
  for await (const b of stream.batches) batches.push(b);
  const fields = stream.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`);
  const columns = Object.fromEntries(stream.schema.fields.map((f) => [f.name, batches.flatMap((b) => b.getChild(f.name)!.data.flatMap(cells))]));
  return { schema: stream.schema, fields, sizes: batches.map((b) => b.numRows), columns };
}

describePostgres('postgres source: binary COPY reads equal text cursor reads', service, (server) => {
  let schema: Awaited<ReturnType<typeof withSchema>>;
  let binary: PostgresSource;
  let text: PostgresSource;
  let recorded: ReturnType<typeof recordingLogger>;
  let catalog: ReturnType<typeof createCatalog>;

  const TYPED = [
    ['id', 'integer'], ['b', 'boolean'], ['s', 'integer'], ['i', 'integer'], ['big', 'bigint'], ['r', 'double'], ['d', 'double'],
    ['num', 'decimal'], ['wide', 'decimal'], ['loose', 'decimal'], ['huge', 'decimal'], ['t', 'string'], ['v', 'string'], ['c', 'string'],
    ['nm', 'string'], ['dt', 'date'], ['ts', 'timestamp'], ['tz', 'timestamp'],
    // Catalog types only steer filters and COLLATE; these columns are only selected, so any non-string type will do.
    ['j', 'integer'], ['jb', 'integer'], ['u', 'integer'],
  ] as const;
  const all = TYPED.map(([column]) => ({ column }));

  beforeAll(async () => {
    schema = await withSchema(server, 'h5_binary');
    const q = (sql: string) => schema.admin.query(sql);
    await q(`CREATE TABLE "${schema.schema}".types (
      id int4, b bool, s int2, i int4, big int8, r float4, d float8, num numeric(12, 3), wide numeric(38, 10), loose numeric,
      huge numeric(50, 5), t text, v varchar(10), c char(5), nm name, dt date, ts timestamp, tz timestamptz, j json, jb jsonb, u uuid)`);
    await q(`INSERT INTO "${schema.schema}".types VALUES
      (1, true, -32768, -2147483648, 9007199254740993, 3.4028235e38, 1e-310, -123456789.123, 1234567890123456789012345678.1234567890,
       -12345678901234567890.000123456789, 123456789012345678901234567890123456789012345.12345, 'héllo wörld — 日本語 🚀', 'ünï', 'ab', 'a_name',
       '1999-12-31', '2000-01-01 00:00:00.000001', '2024-06-01 12:34:56.789012+05:30', '{"a": [1, 2.50, "x"]}', '{"b": 1, "a": "ü"}',
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (3, false, 32767, 2147483647, -9223372036854775808, 'NaN', '-0', 0, -0.0000000001, 'NaN', -0.00001, '', '', '', '',
       '0044-03-15 BC', '1899-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999-08', 'null', '[]', '00000000-0000-0000-0000-000000000000'),
      (4, true, 0, 0, 9223372036854775807, '-Infinity', 'Infinity', -0.001, -1, 'Infinity', 0, repeat('long text ', 20), 'x', 'abcde', 'n',
       '5874897-12-31', '294000-01-01 00:00:00', '0100-02-28 23:00:00.5+00', '1', '"s"', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
      (5, false, 1, 1, -1, 1.5, 0.1, 999999999.999, 0.5, '-Infinity', 99999.99999, E'tab\\there\\nnewline "quote"', 'ß', 'é', 'é',
       '1900-01-01', '4713-11-24 00:00:00 BC', '2000-01-01 00:00:00+00', '{}', '{"nested": {"k": [true, null]}}', '123e4567-e89b-12d3-a456-426614174000'),
      (6, true, 2, 3, 4, 5, 6, 1.5, 12.5, 0.00, 1, 'plain', 'p', 'p', 'p', '2024-02-29', '2024-02-29 12:00:00', '2024-02-29 12:00:00+00', '2', '3',
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12')`);
    await q(`CREATE TABLE "${schema.schema}".wide AS
      SELECT g AS id, repeat(chr(945 + g % 20), g % 40) AS t, g * 1000003::int8 AS big, g::numeric(20, 4) / 7 AS num,
             CASE WHEN g % 3 = 0 THEN NULL ELSE DATE '2000-01-01' + g END AS dt
      FROM generate_series(1, 20000) AS g`);
    await q(`CREATE TABLE "${schema.schema}".odd (id int4, span interval, arr int4[])`);
    await q(`INSERT INTO "${schema.schema}".odd VALUES (1, '1 day 02:00', '{1,2}'), (2, NULL, NULL)`);
    await q(`CREATE TABLE "${schema.schema}".edges (id int4, dt date, ts timestamp, tz timestamptz, price numeric(10, 2), late timestamp)`);
    await q(`INSERT INTO "${schema.schema}".edges VALUES (1, 'infinity', '-infinity', 'infinity', 'NaN', '294250-01-01 00:00:00')`);

    recorded = recordingLogger();
    const options = (readMode: string) => PostgresSourceOptions.parse(localOptions(server, { schema: schema.schema, batchRows: 4, readMode }));
    binary = PostgresSource.create(options('binary'), { logger: recorded.logger });
    text = PostgresSource.create(options('text'), { logger: recordingLogger().logger });
    const dimension = (name: string, type: string) => ({ name, type, role: type === 'date' || type === 'timestamp' ? 'time' : 'dimension' });
    const measure = (name: string, type: string) => ({ name, type, role: 'measure' });
    const big = { maxRows: 10_000_000 };
    catalog = createCatalog([
      DatasetDefinition.parse({ key: 'types', relation: { table: 'types' }, columns: TYPED.map(([n, t]) => dimension(n, t)) }),
      DatasetDefinition.parse({ key: 'wide', relation: { table: 'wide' }, columns: [dimension('id', 'integer'), dimension('t', 'string'), measure('big', 'bigint'), measure('num', 'decimal'), dimension('dt', 'date')], limits: big }),
      DatasetDefinition.parse({ key: 'odd', relation: { table: 'odd' }, columns: [['id', 'integer'], ['span', 'integer'], ['arr', 'integer']].map(([n, t]) => dimension(n!, t!)) }),
      DatasetDefinition.parse({ key: 'edges', relation: { table: 'edges' }, columns: [['id', 'integer'], ['dt', 'date'], ['ts', 'timestamp'], ['tz', 'timestamp'], ['price', 'decimal'], ['late', 'timestamp']].map(([n, t]) => dimension(n!, t!)) }),
      DatasetDefinition.parse({
        key: 'endless',
        // In the select list, the series streams; in FROM it would be materialized first.
        relation: { sql: `SELECT g AS n, 'h5 marker ' || g AS label FROM (SELECT generate_series(1, 50000000) AS g) AS s` },
        columns: [dimension('n', 'integer'), dimension('label', 'string')],
        limits: big,
      }),
    ]);
  });

  afterAll(async () => {
    await binary?.close();
    await text?.close();
    await schema?.drop();
  });

  async function both(from: string, query: Omit<DatasetQuery, 'from'>, batchRows?: number): Promise<{ b: Read; t: Read }> {
    recorded.fallbacks.length = 0;
    const b = await read(binary, catalog, from, query, batchRows);
    const t = await read(text, catalog, from, query, batchRows);
    return { b, t };
  }

  it('gives the same schema and exact values for every supported type, NULLs and edge values included', async () => {
    // json has no ordering operator; a small fresh table is scanned in insertion order.
    const { b, t } = await both('types', { scopes: all, orderBy: null });
    expect(recorded.fallbacks).toEqual([]);
    expect(b.columns.id).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.fields).toEqual(t.fields);
    expect(b.sizes).toEqual([4, 2]);
    expect(b.sizes).toEqual(t.sizes);
    for (const [name] of TYPED) expect({ name, values: b.columns[name] }).toEqual({ name, values: t.columns[name] });
    // A few absolutes, so equality with the text path is not the only check.
    expect(b.columns.big!.slice(0, 4)).toEqual([9007199254740993n, null, -9223372036854775808n, 9223372036854775807n]);
    expect(b.columns.t![0]).toBe('héllo wörld — 日本語 🚀');
    expect(b.columns.t![2]).toBe('');
    expect(b.columns.t![1]).toBeNull();
    expect(b.columns.c!.slice(0, 4)).toEqual(['ab   ', null, '     ', 'abcde']);
    expect(b.columns.loose!.slice(0, 5)).toEqual(['-12345678901234567890.000123456789', null, 'NaN', 'Infinity', '-Infinity']);
    expect(b.columns.huge!.slice(0, 4)).toEqual(['123456789012345678901234567890123456789012345.12345', null, '-0.00001', '0.00000']);
    expect(b.columns.dt!.slice(0, 4)).toEqual([10956, null, Date.UTC(-43, 2, 15) / 86_400_000, expect.any(Number)]);
    expect(b.columns.ts![0]).toBe(946684800000001n);
    expect(b.columns.ts![2]).toBe(BigInt(Date.UTC(1899, 11, 31, 23, 59, 59)) * 1000n + 999999n);
    expect(b.columns.tz![0]).toBe(BigInt(Date.UTC(2024, 5, 1, 7, 4, 56)) * 1000n + 789012n);
    expect(b.columns.u![0]).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(b.columns.jb![0]).toBe('{"a": "ü", "b": 1}');
    expect(Object.is(b.columns.d![2], -0)).toBe(true);
  });

  it('decodes the same batches whatever the chunking of the stream, down to single bytes', async () => {
    const table = `"${schema.schema}".types`;
    const { fields } = await schema.admin.query({ text: `SELECT * FROM ${table} LIMIT 0`, rowMode: 'array' });
    const chunks: Uint8Array[] = [];
    for await (const chunk of schema.admin.query(copyTo(`COPY ${table} TO STDOUT (FORMAT binary)`))) chunks.push(chunk as Uint8Array);
    const bytes = Buffer.concat(chunks);
    const decode = (chunkSize: number, stream = bytes) => {
      const plan = binaryColumns(fields);
      if ('unsupported' in plan) throw new Error(`unexpected fallback for ${plan.unsupported.name}`);
      const decoder = new BinaryDecoder(plan.columns, 4);
      const out: RecordBatch[] = [];
      for (let i = 0; i < stream.length; i += chunkSize) {
        decoder.push(stream.subarray(i, i + chunkSize));
        for (let batch = decoder.take(); batch; batch = decoder.take()) out.push(batch);
      }
      decoder.end();
      return out.map((b) => ({ rows: b.numRows, columns: b.schema.fields.map((f) => b.getChild(f.name)!.data.flatMap(cells)) }));
    };
    const whole = decode(bytes.length);
    expect(whole.map((b) => b.rows)).toEqual([4, 2]);
    for (const size of [1, 2, 3, 5, 19, 64]) expect(decode(size)).toEqual(whole);
    // The same values as the text cursor gives.
    const t = await read(text, catalog, 'types', { scopes: all, orderBy: null });
    expect(TYPED.map((_, c) => whole.flatMap((b) => b.columns[c]))).toEqual(TYPED.map(([name]) => t.columns[name]));
    // A stream cut before its trailer is an error, never a short result.
    expect(() => decode(7, bytes.subarray(0, bytes.length - 2))).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringContaining('before its trailer') }));
  });

  it('decodes negative and large decimals with their scale', async () => {
    const { b } = await both('types', { scopes: [{ column: 'id' }, { column: 'num' }, { column: 'wide' }], orderBy: [{ column: 'id', direction: 'asc' }] });
    const unscaled = (words: unknown) =>
      words === null ? null : BigInt.asIntN(128, (words as number[]).reduce((acc, w, k) => acc | (BigInt(w) << BigInt(32 * k)), 0n));
    expect(b.columns.num!.map(unscaled)).toEqual([-123456789123n, null, 0n, -1n, 999999999999n, 1500n]);
    expect(b.columns.wide!.map(unscaled)).toEqual([12345678901234567890123456781234567890n, null, -1n, -10000000000n, 5000000000n, 125000000000n]);
  });

  it('reads zero rows with the full schema', async () => {
    const { b, t } = await both('types', { scopes: all, filters: [{ column: 'id', filter: { equals: -1 } }], orderBy: null });
    expect(recorded.fallbacks).toEqual([]);
    expect(b.sizes).toEqual([]);
    expect(b.fields).toEqual(t.fields);
    expect(b.fields).toHaveLength(TYPED.length);
  });

  it('reads aggregates (numeric without a typmod, bigint counts) the same way', async () => {
    const { b, t } = await both('wide', {
      scopes: [{ column: 'dt', granularity: 'month' }, { column: 'num', aggregate: 'Sum' }, { column: 'big', aggregate: 'Max' }, { column: 'id', aggregate: 'Count' }],
    });
    expect(recorded.fallbacks).toEqual([]);
    expect(b.fields).toEqual(t.fields);
    expect(b.columns).toEqual(t.columns);
    expect(b.sizes.reduce((x, y) => x + y, 0)).toBeGreaterThan(100);
  });

  it('decodes tuples split across COPY chunks, batch after batch', async () => {
    const query: Omit<DatasetQuery, 'from'> = { scopes: ['id', 't', 'big', 'num', 'dt'].map((column) => ({ column })), orderBy: [{ column: 'id', direction: 'asc' }] };
    const t = await read(text, catalog, 'wide', query, 8192);
    for (const batchRows of [1, 7, 8192]) {
      recorded.fallbacks.length = 0;
      const b = await read(binary, catalog, 'wide', query, batchRows);
      expect(recorded.fallbacks).toEqual([]);
      expect(b.sizes).toEqual([...Array.from({ length: Math.floor(20_000 / batchRows) }, () => batchRows), ...(20_000 % batchRows ? [20_000 % batchRows] : [])]);
      expect(b.columns).toEqual(t.columns);
    }
  });

  it('binds filter values (through transaction settings) like the text path', async () => {
    const query: Omit<DatasetQuery, 'from'> = {
      scopes: [{ column: 'id' }, { column: 't' }],
      filters: [
        { column: 'id', filter: { in: [1, 3, 5, 6] } },
        { column: 't', filter: { notEquals: `x'); DROP TABLE t; --` } },
      ],
      orderBy: [{ column: 'id', direction: 'asc' }],
    };
    const { b, t } = await both('types', query);
    expect(b.columns).toEqual(t.columns);
    expect(b.columns.id).toEqual([1, 3, 5, 6]);
  });

  it('refuses what Arrow cannot hold exactly as the text path does', async () => {
    for (const column of ['dt', 'ts', 'tz', 'price']) {
      const failure = (source: PostgresSource) => read(source, catalog, 'edges', { scopes: [{ column }] }).catch((e: unknown) => e);
      const [b, t] = [await failure(binary), await failure(text)];
      expect(b).toBeInstanceOf(FerryError);
      expect(b).toMatchObject({ code: 'QUERY_FAILED', plugin: 'source:postgres', message: (t as Error).message });
    }
    // Past int64 microseconds since 1970: refused by both, never wrapped around.
    for (const source of [binary, text]) {
      await expect(read(source, catalog, 'edges', { scopes: [{ column: 'late' }] })).rejects.toMatchObject({ code: 'QUERY_FAILED', message: expect.stringContaining('"late"') });
    }
    expect(binary.activeStreams).toBe(0);
  });

  it('reads a query with a type it does not decode (interval, arrays) through the text cursor', async () => {
    const { b, t } = await both('odd', { scopes: [{ column: 'id' }, { column: 'span' }, { column: 'arr' }], orderBy: [{ column: 'id', direction: 'asc' }] });
    expect(recorded.fallbacks).toEqual([{ column: 'span', typeOid: 1186 }]);
    expect(b.columns).toEqual(t.columns);
    expect(b.columns.span).toEqual(['1 day 02:00:00', null]);
    expect(binary.activeStreams).toBe(0);
  });

  describe('leaving a read early', () => {
    const copying = async () =>
      (await schema.admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY%h5 marker%' AND pid <> pg_backend_pid()`)).rows[0].n as number;

    it('break after one batch destroys the connection and ends the COPY on the server', async () => {
      const stream = await binary.open(resolveQuery(catalog, { from: 'endless', scopes: [{ column: 'n' }, { column: 'label' }], orderBy: null }), { signal: never, batchRows: 1000 });
      let rows = 0;
      for await (const batch of stream.batches) {
        rows += batch.numRows;
        expect(await copying()).toBe(1);
        break;
      }
      expect(rows).toBe(1000);
      expect(binary.activeStreams).toBe(0);
      await expect.poll(copying, { timeout: 5000, interval: 50 }).toBe(0);
    });

    it('an abort mid-stream rejects with the reason and ends the COPY on the server', async () => {
      const controller = new AbortController();
      const reason = new FerryError('ABORTED', 'test abort');
      const stream = await binary.open(resolveQuery(catalog, { from: 'endless', scopes: [{ column: 'n' }], orderBy: null }), { signal: controller.signal, batchRows: 1000 });
      const batches = stream.batches[Symbol.asyncIterator]();
      expect((await batches.next()).value.numRows).toBe(1000);
      controller.abort(reason);
      await expect(batches.next()).rejects.toBe(reason);
      expect(binary.activeStreams).toBe(0);
      await expect.poll(copying, { timeout: 5000, interval: 50 }).toBe(0);
    });

    it('the pool still serves reads afterwards', async () => {
      const { b } = await both('types', { scopes: [{ column: 'id' }], orderBy: [{ column: 'id', direction: 'asc' }] });
      expect(b.columns.id).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });
});
