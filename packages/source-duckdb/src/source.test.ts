import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordBatch, type Schema, Type, type Decimal as ArrowDecimal, type TimestampMicrosecond } from 'apache-arrow';
import { createCatalog, DatasetDefinition, FerryError, PluginRegistry, resolveQuery, type DatasetQuery, type RowStream } from '@ferry/core';
import { ensureRentalsDataset, rentalsDataset } from '@ferry/sample-rentals';
import { duckdbSource } from './plugin.js';
import type { DuckDBSource } from './source.js';
import { groupsDataset, HOSTILE, LONG_TEXT, peopleDataset, tempDir, typesDataset, writeFixtures } from './test-fixtures.js';

const logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return logger; } };

let dir: { dir: string; cleanup: () => Promise<void> };
let source: DuckDBSource;
let catalog: ReturnType<typeof createCatalog>;

beforeAll(async () => {
  dir = await tempDir('ferry-source-duckdb-');
  const files = await writeFixtures(dir.dir);
  const rentalsFile = await ensureRentalsDataset(dir.dir);
  catalog = createCatalog([typesDataset(files.typesFile), groupsDataset(files.groupsFile), peopleDataset(), rentalsDataset(rentalsFile), MIXED_STRINGS]);
  // The database file holds the `people` table; read-only so nothing the source runs can change it.
  source = (await new PluginRegistry()
    .register(duckdbSource)
    .create('source', { use: 'duckdb', options: { path: 'people.duckdb', threads: 2, memoryLimit: '1GB', readOnly: true } }, {
      logger: logger as never,
      dataDir: dir.dir,
    })) as DuckDBSource;
});

afterAll(async () => {
  await source?.close();
  await dir?.cleanup();
});

const never = new AbortController().signal;

/** Strings of 0 to 40 bytes (inline up to 12, on DuckDB's heap beyond), with NULLs, in DuckDB's own heap order. */
const mixedString = (i: number): string | null => (i % 7 === 0 ? null : String.fromCharCode(97 + (i % 26)).repeat((i * 13) % 41));
const MIXED_STRINGS = DatasetDefinition.parse({
  key: 'mixed',
  relation: { sql: "SELECT CAST(i AS INTEGER) AS i, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat(chr(97 + CAST(i % 26 AS INTEGER)), CAST((i * 13) % 41 AS INTEGER)) END AS s FROM range(20000) t(i)" },
  columns: [
    { name: 'i', type: 'integer', role: 'dimension' },
    { name: 's', type: 'string', role: 'dimension' },
  ],
});

async function run(query: DatasetQuery, batchRows?: number): Promise<{ schema: Schema; batches: RecordBatch[] }> {
  const stream: RowStream = await source.open(resolveQuery(catalog, query), { signal: never, batchRows });
  const batches: RecordBatch[] = [];
  for await (const batch of stream.batches) batches.push(batch);
  return { schema: stream.schema, batches };
}

/** Column values across batches, as Arrow's `get` returns them. */
function column(batches: RecordBatch[], name: string): unknown[] {
  return batches.flatMap((b) => [...(b.getChild(name) ?? [])]);
}

/** Raw storage of a 64-bit column (Arrow's `get` turns timestamps into lossy JS numbers). */
function raw64(batches: RecordBatch[], name: string): Array<bigint | null> {
  return batches.flatMap((b) => {
    const vector = b.getChild(name)!;
    return vector.data.flatMap((d) => Array.from({ length: d.length }, (_, i) => (d.getValid(i) ? (d.values as BigInt64Array)[i]! : null)));
  });
}

/** Decimal128 words back to the scaled integer. */
function decimals(batches: RecordBatch[], name: string): Array<bigint | null> {
  return batches.flatMap((b) =>
    b.getChild(name)!.data.flatMap((d) =>
      Array.from({ length: d.length }, (_, i) => {
        if (!d.getValid(i)) return null;
        const w = (d.values as Uint32Array).subarray(i * 4, i * 4 + 4);
        const unsigned = BigInt(w[0]!) | (BigInt(w[1]!) << 32n) | (BigInt(w[2]!) << 64n) | (BigInt(w[3]!) << 96n);
        return BigInt.asIntN(128, unsigned);
      }),
    ),
  );
}

const ALL_TYPES = ['id', 'name', 'big', 'price', 'day', 'ts', 'tstz', 'flag', 'dbl', 'tiny', 'bigdec', 'small'].map((column) => ({ column }));

describe('duckdb source', () => {
  it('maps types and values, NULLs included', async () => {
    const { schema, batches } = await run({ from: 'types', scopes: ALL_TYPES });
    const types = Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));
    expect(types['id']!.typeId).toBe(Type.Int);
    expect(String(types['id'])).toBe('Int32');
    expect(String(types['big'])).toBe('Int64');
    expect(String(types['name'])).toBe('Utf8');
    expect(types['price']!.typeId).toBe(Type.Decimal);
    expect((types['price'] as ArrowDecimal).scale).toBe(2);
    expect((types['price'] as ArrowDecimal).precision).toBe(10);
    expect((types['bigdec'] as ArrowDecimal).precision).toBe(38);
    expect(String(types['day'])).toBe('Date32<DAY>');
    expect(types['ts']!.typeId).toBe(Type.Timestamp);
    expect((types['ts'] as TimestampMicrosecond).timezone ?? null).toBeNull();
    expect((types['tstz'] as TimestampMicrosecond).timezone).toBe('UTC');
    expect(String(types['flag'])).toBe('Bool');
    expect(String(types['dbl'])).toBe('Float64');
    expect(String(types['tiny'])).toBe('Int8');
    expect(String(types['small'])).toBe('Int16');

    expect(column(batches, 'id')).toEqual([1, 2, 3, 4]);
    expect(column(batches, 'name')).toEqual(['Alpha', null, LONG_TEXT, HOSTILE]);
    expect(raw64(batches, 'big')).toEqual([9007199254740993n, null, -9007199254740993n, 0n]);
    expect(decimals(batches, 'price')).toEqual([1234n, null, -5n, 0n]);
    expect(decimals(batches, 'bigdec')).toEqual([1234567890123456789012345678n, null, -101n, 0n]);
    expect(column(batches, 'day')).toEqual([Date.UTC(2024, 0, 1), null, Date.UTC(1969, 11, 31), Date.UTC(2024, 1, 29)]);
    expect(raw64(batches, 'ts')).toEqual([BigInt(Date.UTC(2024, 0, 1, 10, 20, 30)) * 1000n + 123456n, null, -1_000_000n, BigInt(Date.UTC(2024, 1, 29)) * 1000n]);
    expect(raw64(batches, 'tstz')).toEqual([BigInt(Date.UTC(2024, 0, 1, 8, 20, 30)) * 1000n + 500000n, null, BigInt(Date.UTC(2000, 5, 1)) * 1000n, BigInt(Date.UTC(2024, 1, 29)) * 1000n]);
    expect(column(batches, 'flag')).toEqual([true, null, false, true]);
    expect(column(batches, 'dbl')).toEqual([1.5, null, -2.25, 0]);
    expect(column(batches, 'tiny')).toEqual([7, null, -128, 0]);
    expect(column(batches, 'small')).toEqual([-5, null, 32767, 0]);
  });

  it('regroups DuckDB chunks into batches of batchRows, across chunk boundaries', async () => {
    const { batches } = await run({ from: 'groups', scopes: [{ column: 'i' }, { column: 'label' }] }, 3000);
    expect(batches.map((b) => b.numRows)).toEqual([3000, 3000, 3000, 1000]);
    const ids = column(batches, 'i');
    const labels = column(batches, 'label');
    expect(ids).toEqual(Array.from({ length: 10000 }, (_, i) => i));
    expect(labels).toEqual(Array.from({ length: 10000 }, (_, i) => (i % 10 === 0 ? null : `row ${i} with a longer label`)));
    expect(batches[0]!.getChild('label')!.nullCount).toBe(300);
  });

  it('copies strings of every length, inline and on the heap, next to NULLs, across chunks and batches', async () => {
    const { batches } = await run({ from: 'mixed', scopes: [{ column: 'i' }, { column: 's' }], orderBy: [{ column: 'i', direction: 'asc' }] }, 5000);
    expect(column(batches, 's')).toEqual(Array.from({ length: 20000 }, (_, i) => mixedString(i)));
  });

  it('keeps the schema for zero rows', async () => {
    const { schema, batches } = await run({ from: 'types', scopes: ALL_TYPES, filters: [{ column: 'name', filter: { equals: 'nobody' } }] });
    expect(batches).toEqual([]);
    expect(schema.fields.map((f) => f.name)).toEqual(ALL_TYPES.map((s) => s.column));
    expect(String(schema.fields[2]!.type)).toBe('Int64');
  });

  it('binds hostile strings as data', async () => {
    const found = await run({ from: 'types', scopes: [{ column: 'id' }], filters: [{ column: 'name', filter: { in: [HOSTILE, `x' OR '1'='1`] } }] });
    expect(column(found.batches, 'id')).toEqual([4]);
    const none = await run({ from: 'people', scopes: [{ column: 'name' }], filters: [{ column: 'name', filter: { equals: `Ann'; DROP TABLE people; --` } }] });
    expect(none.batches).toEqual([]);
  });

  it('filters typed values: bigints beyond 2^53, dates, timestamps with offsets, decimals, booleans', async () => {
    const ids = async (filters: DatasetQuery['filters']) => column((await run({ from: 'types', scopes: [{ column: 'id' }], filters })).batches, 'id');
    expect(await ids([{ column: 'big', filter: { equals: '9007199254740993' } }])).toEqual([1]);
    expect(await ids([{ column: 'big', filter: { equals: '9007199254740992' } }])).toEqual([]);
    expect(await ids([{ column: 'day', filter: { in: ['1969-12-31', '2024-02-29'] } }])).toEqual([3, 4]);
    expect(await ids([{ column: 'tstz', filter: { equals: '2024-01-01T10:20:30.5+02:00' } }])).toEqual([1]);
    expect(await ids([{ column: 'price', filter: { equals: '-0.05' } }])).toEqual([3]);
    expect(await ids([{ column: 'price', filter: { equals: 12.34 } }])).toEqual([1]);
    expect(await ids([{ column: 'flag', filter: { equals: false } }])).toEqual([3]);
    expect(await ids([{ column: 'tiny', filter: { equals: -128 } }])).toEqual([3]);
  });

  it('aggregates and groups', async () => {
    const { schema, batches } = await run({
      from: 'groups',
      scopes: [
        { column: 'g' },
        { column: 'v', aggregate: 'Avg' },
        { column: 'v', aggregate: 'Sum' },
        { column: 'v', aggregate: 'Min' },
        { column: 'v', aggregate: 'Max' },
        { column: 'v', aggregate: 'Median' },
        { column: 'label', aggregate: 'Count' },
        { column: 'i', aggregate: 'CountDistinct' },
      ],
      filters: [{ column: 'g', filter: { in: [0, 2] } }],
    });
    expect(schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'g:Int32',
      'avg_v:Float64',
      'sum_v:Float64',
      'min_v:Float64',
      'max_v:Float64',
      'median_v:Float64',
      'count_label:Int64',
      'count_distinct_i:Int64',
    ]);
    const rows = batches[0]!.toArray().map((r) => r.toJSON());
    // g = 0: 0, 3, ..., 9999 (3334 values); g = 2: 2, 5, ..., 9998 (3333 values)
    expect(rows).toEqual([
      { g: 0, avg_v: 4999.5, sum_v: 16_668_333, min_v: 0, max_v: 9999, median_v: 4999.5, count_label: 3334n - 334n, count_distinct_i: 3334n },
      { g: 2, avg_v: 5000, sum_v: 16_665_000, min_v: 2, max_v: 9998, median_v: 5000, count_label: 3333n - 333n, count_distinct_i: 3333n },
    ]);
  });

  it('answers the seed query over the generated rentals dataset', async () => {
    const { schema, batches } = await run({
      from: 'rentals',
      scopes: [{ column: 'street_address' }, { column: 'asking_rent', aggregate: 'Avg' }],
      filters: [
        { column: 'msa', filter: { equals: 'Seattle, WA' } },
        { column: 'bed', filter: { in: [1, 2, 3] } },
      ],
      limit: 10000,
    });
    expect(schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['street_address:Utf8', 'avg_asking_rent:Float64']);
    const addresses = column(batches, 'street_address') as string[];
    const rents = column(batches, 'avg_asking_rent') as number[];
    expect(addresses.length).toBeGreaterThan(50);
    expect(addresses.length).toBeLessThanOrEqual(10000);
    expect([...addresses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(addresses);
    expect(new Set(addresses).size).toBe(addresses.length);
    for (const rent of rents) expect(rent).toBeGreaterThan(1000);
  });

  it('stops on abort and releases the connection', async () => {
    const controller = new AbortController();
    const stream = await source.open(resolveQuery(catalog, { from: 'rentals', scopes: [{ column: 'street_address' }, { column: 'as_of_week' }] }), {
      signal: controller.signal,
      batchRows: 1000,
    });
    expect(source.activeStreams).toBe(1);
    const seen: number[] = [];
    const reason = new FerryError('ABORTED', 'test abort');
    await expect(
      (async () => {
        for await (const batch of stream.batches) {
          seen.push(batch.numRows);
          controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(seen).toEqual([1000]);
    expect(source.activeStreams).toBe(0);

    const aborted = new AbortController();
    aborted.abort(reason);
    await expect(source.open(resolveQuery(catalog, { from: 'groups', scopes: [{ column: 'i' }] }), { signal: aborted.signal })).rejects.toBe(reason);
  });

  it('releases the connection when the consumer breaks out', async () => {
    const stream = await source.open(resolveQuery(catalog, { from: 'groups', scopes: [{ column: 'i' }] }), { signal: never, batchRows: 100 });
    for await (const batch of stream.batches) {
      expect(batch.numRows).toBe(100);
      break;
    }
    expect(source.activeStreams).toBe(0);
  });

  it('reports DuckDB errors as QUERY_FAILED from source:duckdb', async () => {
    const missing = createCatalog([typesDataset(`${dir.dir}/missing.parquet`)]);
    const err = await source.open(resolveQuery(missing, { scopes: [{ column: 'id' }] }), { signal: never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({ code: 'QUERY_FAILED', plugin: 'source:duckdb' });
    expect(source.activeStreams).toBe(0);
  });

  it('validates its options with the exact path', async () => {
    const registry = new PluginRegistry().register(duckdbSource);
    await expect(
      registry.create('source', { use: 'duckdb', options: { memoryLimit: 'lots' } }, { logger: logger as never, dataDir: dir.dir }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', path: ['source', 'options', 'memoryLimit'] });
  });
});

describe('DuckDB settings of the source', () => {
  it('keeps no second copy of the files it reads in its buffer pool (the OS page cache has them)', async () => {
    const settings = DatasetDefinition.parse({
      key: 'settings',
      relation: { sql: "SELECT CAST(current_setting('enable_external_file_cache') AS VARCHAR) AS file_cache" },
      columns: [{ name: 'file_cache', type: 'string', role: 'dimension' }],
    });
    const stream = await source.open(resolveQuery(createCatalog([settings]), { scopes: [{ column: 'file_cache' }] }), { signal: never });
    const values: unknown[] = [];
    for await (const batch of stream.batches) values.push(...(batch.getChild('file_cache') ?? []));
    expect(values).toEqual(['false']);
  });
});
