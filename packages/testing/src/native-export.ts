import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createCatalog, DatasetDefinition, resolveQuery, type DatasetQuery, type FormatWriter, type NativeFormat, type QuerySource } from '@ferry/core';
import { sqlIdent, sqlString } from './duckdb-reader.js';
import type { SuiteDialect } from './query-fixture.js';

/**
 * Pushdown parity: for each query and each format the test hands a writer for, what a source's
 * `exportNative` writes must read back as its Arrow path (`open`) through that writer, or
 * `exportNative` must say null. Every file is read back by DuckDB (Parquet, CSV with a header, JSON
 * Lines): the same column names and types, the same rows and values. Formats a source lists in
 * `sameBytes` must also be byte for byte the Arrow path's. The rows hold what breaks naive encoders: NULL next to '', quotes, commas, CR/LF, `#`,
 * control characters, U+2028, non-ASCII, `\.`, bigints beyond 2^53, decimals with trailing zeros,
 * dates, naive and UTC timestamps with fractions, doubles at every magnitude.
 */

const TEXTS = ['plain', '', null, 'say "hi"', 'a,b', 'line\nbreak', 'cr\rlf', '#hash', 'tab\there', 'ctl\u0001\u001f', 'sep\u2028x', 'Zürich 東京 🚀', '\\.', ' padded '];

interface ExportColumn {
  name: string;
  type: string;
  sql: Record<SuiteDialect, string>;
}
const SAME = (t: string): Record<SuiteDialect, string> => ({ duckdb: t, postgres: t });
const EXPORT_COLUMNS: readonly ExportColumn[] = [
  { name: 'id', type: 'integer', sql: SAME('INTEGER') },
  { name: 's', type: 'string', sql: { duckdb: 'VARCHAR', postgres: 'text' } },
  { name: 'd', type: 'date', sql: SAME('DATE') },
  { name: 'ts', type: 'timestamp', sql: SAME('TIMESTAMP') },
  { name: 'tz', type: 'timestamp', sql: SAME('TIMESTAMPTZ') },
  { name: 'n', type: 'decimal', sql: SAME('DECIMAL(12, 3)') },
  { name: 'b', type: 'bigint', sql: SAME('BIGINT') },
  { name: 'f', type: 'boolean', sql: SAME('BOOLEAN') },
  { name: 'r', type: 'double', sql: { duckdb: 'DOUBLE', postgres: 'double precision' } },
];

/**
 * Doubles across every magnitude where decimal and exponent notation switch (JavaScript switches
 * at 1e21 and 1e-7, PostgreSQL at 1e15 and 1e-4), plus the special values.
 */
const DOUBLES = [
  '0', '-0', '1', '-2.5', '0.1', '123.456', '0.0001', '0.00001234', '1.5e-7', '1e-7', '9.99e-8', '-3.25e-9', '1e15', '1.2345678901234568e17',
  '123456789012345680', '1e20', '1e21', '-1.5e22', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308', 'NaN', 'Infinity', '-Infinity',
  '3.141592653589793', '9007199254740993', '0.30000000000000004', '1234567.8', null, '-0.000001',
];

function exportRow(i: number): Array<string | null> {
  const n = i % 5 === 4 ? null : `${i % 2 ? '-' : ''}${i * 7}.${String((i * 130) % 1000).padStart(3, '0')}`;
  return [
    String(i),
    TEXTS[i % TEXTS.length]!,
    i % 6 === 5 ? null : `20${String(10 + i).padStart(2, '0')}-0${(i % 9) + 1}-1${i % 10}`,
    i % 7 === 6 ? null : `2024-02-${String((i % 28) + 1).padStart(2, '0')} 0${i % 10}:1${i % 10}:2${i % 10}${i % 3 ? `.${i}5` : ''}`,
    i % 4 === 3 ? null : `2024-03-0${(i % 9) + 1} 12:00:0${i % 10}.5+0${i % 3}:00`,
    n,
    i % 8 === 7 ? null : String(9_007_199_254_740_993n * BigInt(i % 2 ? 1 : -1) + BigInt(i)),
    i % 3 === 2 ? null : String(i % 3 === 0),
    DOUBLES[i % DOUBLES.length]!,
  ];
}

const EXPORT_ROWS = 30;

/** Statements that create `table` with the pushdown rows, for either dialect. */
export function exportTableSql(dialect: SuiteDialect, table: string): string[] {
  const name = table.split('.').map(sqlIdent).join('.');
  const values = Array.from({ length: EXPORT_ROWS }, (_, k) => {
    const cells = exportRow(k);
    return `(${EXPORT_COLUMNS.map((c, j) => (cells[j] === null ? `CAST(NULL AS ${c.sql[dialect]})` : `CAST(${sqlString(cells[j]!)} AS ${c.sql[dialect]})`)).join(', ')})`;
  });
  return [
    `CREATE TABLE ${name} (${EXPORT_COLUMNS.map((c) => `${sqlIdent(c.name)} ${c.sql[dialect]}`).join(', ')})`,
    `INSERT INTO ${name} VALUES ${values.join(',\n')}`,
  ];
}

function exportDataset(relation: DatasetDefinition['relation']): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'exports',
    relation,
    columns: EXPORT_COLUMNS.map(({ name, type }) => ({ name, type, role: name === 'd' || name === 'ts' || name === 'tz' ? 'time' : name === 'n' || name === 'r' ? 'measure' : 'dimension' })),
  });
}

export interface NativeExportCase {
  name: string;
  query: DatasetQuery;
  /** Formats for which the source may (or, for doubles, must) decline with null. */
  mayDecline?: readonly NativeFormat[];
  mustDecline?: true;
  /** The case a source that declares `pushesDownDoubles` must push down. */
  doubles?: true;
}

const ALL = ['id', 's', 'd', 'ts', 'tz', 'n', 'b', 'f'].map((column) => ({ column }));

export const NATIVE_EXPORT_CASES: readonly NativeExportCase[] = [
  { name: 'every supported type, NULLs, quotes, newlines and control characters', query: { scopes: ALL } },
  {
    name: 'aggregates: counts, decimal sums, text min/max, date buckets',
    query: {
      scopes: [{ column: 'f' }, { column: 'd', granularity: 'year' }, { column: 'n', aggregate: 'Sum' }, { column: 's', aggregate: 'Max' }, { column: 'b', aggregate: 'Count' }],
    },
  },
  {
    name: 'bound filter values, hostile text included, and an alias',
    query: {
      scopes: [{ column: 'id' }, { column: 's', alias: 'label' }, { column: 'b' }],
      filters: [{ or: [{ column: 's', filter: { in: ["x'); DROP TABLE t; --", 'say "hi"', 'a,b'] } }, { column: 'b', filter: { gt: '9007199254740993' } }] }],
    },
  },
  { name: 'a single text column (PostgreSQL COPY quotes a lone \\.)', query: { scopes: [{ column: 's' }] }, mayDecline: ['csv'] },
  { name: 'a single integer column with NULL rows', query: { scopes: [{ column: 'b' }] } },
  { name: 'zero rows', query: { scopes: ALL, filters: [{ column: 'id', filter: { lt: 0 } }] } },
  { name: 'doubles at every magnitude and the special values', query: { scopes: [{ column: 'id' }, { column: 'r' }] }, mayDecline: ['csv', 'jsonl'], doubles: true },
];

export interface NativeExportOptions {
  setup(): Promise<{ source: QuerySource; relation: DatasetDefinition['relation'] }>;
  teardown?(): Promise<void>;
  /**
   * The formats to check (`csv`, `jsonl`, `parquet`: what DuckDB reads back), each with its writer
   * with default options (`csvFormat.create(...)`, ...).
   */
  writers: Partial<Record<'csv' | 'jsonl' | 'parquet', FormatWriter>>;
  /** Formats the source promises byte for byte, not only by what the file reads back as. */
  sameBytes?: readonly NativeFormat[];
  /** Arrow batch size for the comparison path; small values cross batch boundaries. */
  batchRows?: number;
  /** The source pushes doubles down: the doubles case may not decline. */
  pushesDownDoubles?: boolean;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

export function describeNativeExport(name: string, options: NativeExportOptions): void {
  describe(`native export parity: ${name}`, () => {
    let source: QuerySource;
    let catalog: ReturnType<typeof createCatalog>;
    beforeAll(async () => {
      const setup = await options.setup();
      source = setup.source;
      catalog = createCatalog([exportDataset(setup.relation)]);
    });
    afterAll(async () => {
      await source?.close();
      await options.teardown?.();
    });

    for (const c of NATIVE_EXPORT_CASES) {
      for (const [format, writer] of Object.entries(options.writers)) {
        it(`${format}: ${c.name}`, async () => {
          expect(source.exportNative).toBeTypeOf('function');
          const signal = new AbortController().signal;
          const resolved = resolveQuery(catalog, c.query);
          const native = await source.exportNative!(resolved, format, { signal });
          if (c.mustDecline) {
            expect(native).toBeNull();
            return;
          }
          if (native === null) {
            expect(c.mayDecline ?? []).toContain(format);
            expect(c.doubles && options.pushesDownDoubles, 'this source says it pushes doubles down').toBeFalsy();
            return;
          }
          const pushed = await collect(native.body);
          const stream = await source.open(resolved, { signal, batchRows: options.batchRows ?? 4 });
          let rows = 0;
          const counted = (async function* () {
            for await (const batch of stream.batches) {
              rows += batch.numRows;
              yield batch;
            }
          })();
          const generic = await collect(writer!.write(stream.schema, counted, { signal }));
          expect(await readBackDifference(format as ReadBackFormat, pushed, generic)).toEqual({ columns: [], pushedOnly: 0, genericOnly: 0, rows: [rows, rows] });
          if (options.sameBytes?.includes(format)) {
            expect(pushed.toString('utf8')).toBe(generic.toString('utf8'));
            expect(pushed.equals(generic)).toBe(true);
          }
          expect(await native.rows).toBe(rows);
        });
      }
    }
  });
}

type ReadBackFormat = 'csv' | 'jsonl' | 'parquet';

/** How DuckDB reads each format back: CSV with Ferry's dialect given (no sniffing of `#` as a comment), types inferred from every row. */
const READERS: Record<ReadBackFormat, (file: string) => string> = {
  parquet: (file) => `read_parquet(${sqlString(file)})`,
  csv: (file) => `read_csv(${sqlString(file)}, header = true, delim = ',', quote = '"', escape = '"', sample_size = -1)`,
  jsonl: (file) => `read_json(${sqlString(file)}, format = 'newline_delimited', sample_size = -1)`,
};

/**
 * Two files as DuckDB reads them: the columns (name and type) that differ, the rows only one of
 * them holds (as multisets: NULLs equal, NaN equal), and each file's row count.
 */
async function readBackDifference(
  format: ReadBackFormat,
  pushed: Buffer,
  generic: Buffer,
): Promise<{ columns: string[]; pushedOnly: number; genericOnly: number; rows: [number, number] }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-native-readback-'));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const a = join(dir, `pushed.${format}`);
    const b = join(dir, `generic.${format}`);
    await writeFile(a, pushed);
    await writeFile(b, generic);
    const read = READERS[format];
    const describe = async (file: string) => (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${read(file)}`)).getRows().map((r) => [String(r[0]), String(r[1])] as const);
    const [da, db] = [await describe(a), await describe(b)];
    const [ca, cb] = [da.map(([n, t]) => `${n} ${t}`), db.map(([n, t]) => `${n} ${t}`)];
    const columns = [...ca.filter((c) => !cb.includes(c)).map((c) => `pushdown: ${c}`), ...cb.filter((c) => !ca.includes(c)).map((c) => `Arrow path: ${c}`)];
    if (columns.length > 0) return { columns, pushedOnly: -1, genericOnly: -1, rows: [-1, -1] };
    // A JSON column mixing numbers and strings (doubles with "NaN") reads back as JSON text: its
    // numbers are compared as the doubles they are (1 and 1.0 are one value).
    const values = da
      .map(([name, type]) => {
        const c = sqlIdent(name);
        return type === 'JSON' ? `CASE WHEN json_type(${c}) IN ('DOUBLE', 'BIGINT', 'UBIGINT') THEN CAST(CAST(${c} AS DOUBLE) AS VARCHAR) ELSE CAST(${c} AS VARCHAR) END` : c;
      })
      .join(', ');
    const rowsOf = (file: string) => `SELECT ${values || '*'} FROM ${read(file)}`;
    const count = async (sql: string) => Number((await conn.runAndReadAll(`SELECT count(*) FROM (${sql})`)).getRows()[0]![0]);
    return {
      columns,
      pushedOnly: await count(`${rowsOf(a)} EXCEPT ALL ${rowsOf(b)}`),
      genericOnly: await count(`${rowsOf(b)} EXCEPT ALL ${rowsOf(a)}`),
      rows: [await count(`SELECT * FROM ${read(a)}`), await count(`SELECT * FROM ${read(b)}`)],
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PushdownOptionSuite {
  /** A source made with these options (the plugin's own fields beside them); the suite closes it. */
  create(options: Record<string, unknown>): Promise<QuerySource> | QuerySource;
  /** The plugin's options schema, which must refuse a format the source does not write. */
  options: { safeParse(input: unknown): { success: boolean; error?: { issues: ReadonlyArray<{ path: readonly PropertyKey[] }> } } };
  /** Every format the source can write itself, in the order it tries them. */
  all: readonly string[];
  /** What it writes with no `pushdown` option. */
  byDefault: readonly string[];
}

/**
 * The `pushdown` option a source with `exportNative` offers: which formats it writes itself by
 * default, with `true` (all it can), `false` (none) and a list; a format it does not know is
 * refused when the options are parsed, with the option's path.
 */
export function describePushdownOption(name: string, suite: PushdownOptionSuite): void {
  describe(`which formats ${name} writes itself (its pushdown option)`, () => {
    const dataset = DatasetDefinition.parse({ key: 't', relation: { sql: 'SELECT 1 AS x' }, columns: [{ name: 'x', type: 'integer', role: 'dimension' }] });
    const query = resolveQuery(createCatalog([dataset]), { scopes: [{ column: 'x' }] });
    const pushedDown = async (options: Record<string, unknown>): Promise<string[]> => {
      const source = await suite.create(options);
      const formats: string[] = [];
      try {
        for (const format of [...suite.all, 'xlsx']) {
          const native = await source.exportNative!(query, format, { signal: new AbortController().signal });
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

    it(`by default: ${suite.byDefault.join(', ')}`, async () => {
      expect(await pushedDown({})).toEqual(suite.byDefault);
    });

    it('every format it can with true, none with false, the listed ones otherwise; never a format it does not know', async () => {
      const last = suite.all[suite.all.length - 1]!;
      expect(await pushedDown({ pushdown: true })).toEqual(suite.all);
      expect(await pushedDown({ pushdown: false })).toEqual([]);
      expect(await pushedDown({ pushdown: [last] })).toEqual([last]);
    });

    it('refuses a format name it does not write in its options, naming the option', () => {
      const parsed = suite.options.safeParse({ pushdown: [suite.all[0], 'xlsx'] });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['pushdown']);
    });
  });
}
