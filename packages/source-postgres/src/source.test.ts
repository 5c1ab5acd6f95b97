import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RecordBatch, Decimal as ArrowDecimal } from 'apache-arrow';
import { createCatalog, DatasetDefinition, FerryError, PluginRegistry, resolveQuery, type DatasetQuery } from '@ferry/core';
import { describePostgres, requirePostgres } from '@ferry/testing';
import { postgresSource } from './plugin.js';
import { PostgresSourceOptions } from './options.js';
import { PostgresSource } from './source.js';
import { localOptions, testLogger, withSchema } from './test-support.js';

const service = await requirePostgres();
const never = new AbortController().signal;

describePostgres('postgres source', service, (server) => {
  let schema: Awaited<ReturnType<typeof withSchema>>;
  let source: PostgresSource;
  let catalog: ReturnType<typeof createCatalog>;

  beforeAll(async () => {
    schema = await withSchema(server, 'ferry_source');
    await schema.admin.query(`
      CREATE TABLE "${schema.schema}".types (
        id int4, small int2, big int8, price numeric(10, 2), loose numeric, real4 float4, dbl float8, flag bool,
        name text, code varchar(8), day date, ts timestamp, tstz timestamptz)`);
    await schema.admin.query(`
      INSERT INTO "${schema.schema}".types VALUES
        (1, -5, 9007199254740993, 1234.50, 1.000000000000000000001, 0.1, 0.1, true, 'Alpha', 'A1', '2024-02-29', '2024-01-01 10:20:30.123456', '2024-01-01 10:20:30.5+02'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, 32767, -9223372036854775808, -0.05, 'NaN', '-Infinity', 1e300, false, '', 'Z', '1969-12-31', '1960-06-01 00:00:00', '2000-06-01 00:00:00+00'),
        (4, 0, 9223372036854775807, 0, -12345678901234567890.123456789, 'NaN', '-0', true, 'x''); DROP TABLE t; --', '', '0044-03-15 BC', '2024-02-29 23:59:59.999999', '1970-01-01 00:00:00.000001+00')`);
    source = PostgresSource.create(PostgresSourceOptions.parse(localOptions(server, { schema: schema.schema, batchRows: 2 })), { logger: testLogger });
    const columns = [
      ['id', 'integer'], ['small', 'integer'], ['big', 'bigint'], ['price', 'decimal'], ['loose', 'decimal'], ['real4', 'double'],
      ['dbl', 'double'], ['flag', 'boolean'], ['name', 'string'], ['code', 'string'], ['day', 'date'], ['ts', 'timestamp'], ['tstz', 'timestamp'],
    ].map(([name, type]) => ({ name, type, role: type === 'date' || type === 'timestamp' ? 'time' : 'dimension' }));
    catalog = createCatalog([
      DatasetDefinition.parse({ key: 'types', relation: { table: 'types' }, columns }),
      DatasetDefinition.parse({ key: 'sleepy', relation: { sql: 'SELECT n FROM generate_series(1, 3) AS n, pg_sleep(30) AS s' }, columns: [{ name: 'n', type: 'integer', role: 'dimension' }] }),
      DatasetDefinition.parse({
        key: 'big',
        relation: { sql: 'SELECT g AS n FROM generate_series(1, 5000000) AS g' },
        columns: [{ name: 'n', type: 'integer', role: 'dimension' }],
        limits: { maxRows: 10_000_000 },
      }),
    ]);
  });

  afterAll(async () => {
    await source?.close();
    await schema?.drop();
  });

  async function run(query: DatasetQuery): Promise<{ batches: RecordBatch[]; fields: string[] }> {
    const stream = await source.open(resolveQuery(catalog, { from: 'types', ...query }), { signal: never });
    const batches: RecordBatch[] = [];
    for await (const b of stream.batches) batches.push(b);
    return { batches, fields: stream.schema.fields.map((f) => `${f.name}:${String(f.type)}`) };
  }
  const raw = (batches: RecordBatch[], name: string): unknown[] =>
    batches.flatMap((b) => b.getChild(name)!.data.flatMap((d) => Array.from({ length: d.length }, (_, i) => (d.getValid(i) ? (d.values as ArrayLike<unknown>)[i] : null))));
  const values = (batches: RecordBatch[], name: string): unknown[] => batches.flatMap((b) => [...b.getChild(name)!]);

  it('maps every type faithfully, in batches of batchRows', async () => {
    const all = ['id', 'small', 'big', 'price', 'loose', 'real4', 'dbl', 'flag', 'name', 'code', 'day', 'ts', 'tstz'].map((column) => ({ column }));
    const { batches, fields } = await run({ scopes: all });
    expect(batches.map((b) => b.numRows)).toEqual([2, 2]);
    expect(fields).toEqual([
      'id:Int32', 'small:Int32', 'big:Int64', 'price:Decimal[10e+2]', 'loose:Utf8', 'real4:Float64', 'dbl:Float64', 'flag:Bool',
      'name:Utf8', 'code:Utf8', 'day:Date32<DAY>', 'ts:Timestamp<MICROSECOND>', 'tstz:Timestamp<MICROSECOND, UTC>',
    ].map((f) => f.replace('small:Int32', 'small:Int16').replace('real4:Float64', 'real4:Float32')));
    expect((batches[0]!.schema.fields[3]!.type as ArrowDecimal).scale).toBe(2);
    expect(raw(batches, 'big')).toEqual([9007199254740993n, null, -9223372036854775808n, 9223372036854775807n]);
    expect(values(batches, 'small')).toEqual([-5, null, 32767, 0]);
    const words = raw(batches, 'price');
    expect(words[1]).toBeNull();
    expect(values(batches, 'loose')).toEqual(['1.000000000000000000001', null, 'NaN', '-12345678901234567890.123456789']);
    expect(values(batches, 'real4')).toEqual([Math.fround(0.1), null, -Infinity, NaN]);
    expect(Object.is(values(batches, 'dbl')[3], -0)).toBe(true);
    expect(values(batches, 'dbl').slice(0, 3)).toEqual([0.1, null, 1e300]);
    expect(values(batches, 'flag')).toEqual([true, null, false, true]);
    expect(values(batches, 'name')).toEqual(['Alpha', null, '', `x'); DROP TABLE t; --`]);
    expect(values(batches, 'day')).toEqual([Date.UTC(2024, 1, 29), null, Date.UTC(1969, 11, 31), Date.UTC(-43, 2, 15)]);
    expect(raw(batches, 'ts')).toEqual([BigInt(Date.UTC(2024, 0, 1, 10, 20, 30)) * 1000n + 123456n, null, BigInt(Date.UTC(1960, 5, 1)) * 1000n, BigInt(Date.UTC(2024, 1, 29, 23, 59, 59)) * 1000n + 999999n]);
    expect(raw(batches, 'tstz')).toEqual([BigInt(Date.UTC(2024, 0, 1, 8, 20, 30)) * 1000n + 500000n, null, BigInt(Date.UTC(2000, 5, 1)) * 1000n, 1n]);
  });

  it('decodes decimals exactly', async () => {
    const { batches } = await run({ scopes: [{ column: 'price' }], filters: [{ column: 'price', filter: { isNull: false } }] });
    const unscaled = batches.flatMap((b) =>
      b.getChild('price')!.data.flatMap((d) =>
        Array.from({ length: d.length }, (_, i) => {
          const w = (d.values as Uint32Array).subarray(i * 4, i * 4 + 4);
          return BigInt.asIntN(128, BigInt(w[0]!) | (BigInt(w[1]!) << 32n) | (BigInt(w[2]!) << 64n) | (BigInt(w[3]!) << 96n));
        }),
      ),
    );
    expect(unscaled).toEqual([-5n, 0n, 123450n]);
  });

  it('binds hostile values and refuses hostile names before SQL', async () => {
    const hostile = `x'); DROP TABLE t; --`;
    const found = await run({ scopes: [{ column: 'id' }], filters: [{ column: 'name', filter: { in: [hostile, `' OR '1'='1`] } }] });
    expect(values(found.batches, 'id')).toEqual([4]);
    const like = await run({ scopes: [{ column: 'id' }], filters: [{ column: 'name', filter: { contains: `'; DROP TABLE types; --%` } }] });
    expect(like.batches).toEqual([]);
    expect(() => resolveQuery(catalog, { from: 'types', scopes: [{ column: 'id"; DROP TABLE types; --' }] })).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN' }));
  });

  it('cancels a running query on the server when aborted, and releases the connection', async () => {
    const controller = new AbortController();
    const reason = new FerryError('ABORTED', 'test abort');
    const opened = source.open(resolveQuery(catalog, { from: 'sleepy', scopes: [{ column: 'n' }] }), { signal: controller.signal });
    const running = async () =>
      (await schema.admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`)).rows[0].n as number;
    await expect.poll(running, { timeout: 5000, interval: 50 }).toBe(1);
    controller.abort(reason);
    await expect(opened).rejects.toBe(reason);
    await expect.poll(running, { timeout: 5000, interval: 50 }).toBe(0);
    expect(source.activeStreams).toBe(0);
  });

  it('streams 5M rows with flat memory', async () => {
    const stream = await source.open(resolveQuery(catalog, { from: 'big', scopes: [{ column: 'n' }] }), { signal: never, batchRows: 65_536 });
    let rows = 0;
    let baseline = 0;
    let peak = 0;
    for await (const batch of stream.batches) {
      rows += batch.numRows;
      const rss = process.memoryUsage().rss;
      if (rows <= 5 * 65_536) baseline = Math.max(baseline, rss);
      else peak = Math.max(peak, rss);
    }
    expect(rows).toBe(5_000_000);
    // Holding the result would take well over 300 MB (5M JS strings in arrays); streaming keeps
    // growth after warm-up to a few batches plus garbage the collector has not reclaimed yet.
    expect(peak - baseline).toBeLessThan(200 * 1024 * 1024);
    expect(source.activeStreams).toBe(0);
  });

  it('never shows the password in errors', async () => {
    const secret = 'hunter2-very-secret';
    const bad = PostgresSource.create(PostgresSourceOptions.parse({ connectionString: `postgres://nobody:${secret}@127.0.0.1:1/none` }), { logger: testLogger });
    const err = await bad.open(resolveQuery(catalog, { from: 'types', scopes: [{ column: 'id' }] }), { signal: never }).catch((e: unknown) => e);
    await bad.close();
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({ code: 'TRANSIENT', plugin: 'source:postgres' });
    expect(JSON.stringify({ message: (err as Error).message, cause: (err as Error).cause ?? null })).not.toContain(secret);
  });

  it('validates its options with the exact path', async () => {
    const registry = new PluginRegistry().register(postgresSource);
    await expect(registry.create('source', { use: 'postgres', options: { poolSize: 0 } }, { logger: testLogger, dataDir: '.' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      path: ['source', 'options', 'poolSize'],
    });
    await expect(registry.create('source', { use: 'postgres', options: { schema: 'x; DROP' } }, { logger: testLogger, dataDir: '.' })).rejects.toMatchObject({
      path: ['source', 'options', 'schema'],
    });
  });
});
