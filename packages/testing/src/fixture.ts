import { TimeUnit, type Data, type RecordBatch } from 'apache-arrow';
import {
  batchOf, boolData, dateDayData, decimalData, float64Data, int16Data, int32Data, int64Data, timestampData, utf8Data,
} from './arrow-build.js';

/** What DuckDB returns for a projected column (DuckDBValue subset). */
export type Comparable = string | number | bigint | boolean | null;

/** One fixture column: Arrow data, how DuckDB should read it back, and the exact expected values. */
export interface FixtureColumn {
  name: string;
  data: Data;
  /** DuckDB type used in `columns={...}` when reading the file back. */
  duckType: string;
  /** SQL turning the column into a comparable value (`x` stands for the quoted identifier). */
  select: string;
  expected: Comparable[];
  /** A decimal column: JSON readers that parse numbers as doubles cannot check it exactly (see the suite). */
  decimal?: boolean;
}

const S = 1_000_000n; // microseconds per second
const T2024 = 1704164645n * S + 123456n; // 2024-01-02T03:04:05.123456Z

const TEXT: (string | null)[] = [
  'plain',
  '',
  null,
  'comma, here',
  'quote " inside',
  '""',
  'line\nbreak',
  'cr\r\nlf and lone\rcr',
  'emoji 😀 CJK 漢字 accents éàüß',
  '  leading and trailing  ',
  'back\\slash\ttab',
  'NULL',
  'sep\u2028line\u2029para \u0001\u001f ctl',
  'lone \ud800 surrogate',
];
const N = TEXT.length;

function pad<T>(values: T[], filler: T): T[] {
  return Array.from({ length: N }, (_, i) => (i < values.length ? values[i]! : filler));
}

const I64 = pad<bigint | null>([0n, 9007199254740993n, -9007199254740993n, 9223372036854775807n, -9223372036854775808n, null, 1n, -1n, 2n ** 53n], 42n);
const DEC = pad<string | null>(['0.0000', '12345678901234.5678', '-12345678901234.5678', '0.0001', '-0.0001', null, '99999999999999.9999', '1.5000', '-7.0000'], '3.1416');
const DBL = pad<number | null>([0, 0.1, 1 / 3, 1e21, -1.5e-300, 5e-324, 1.7976931348623157e308, null, 123456.789, -2.5, Number.NaN, Infinity, -Infinity], 0.5);
const BOOL = pad<boolean | null>([true, false, null], true);
const DAYS = pad<number | null>([0, 19723, -1, null, 2932896, -719162, 11016], 20000);
const TS = pad<bigint | null>([T2024, 0n, -1n, null, 253402257600n * S + 999999n, -62135596800n * S, T2024 - 123456n], T2024 + 1n);
const TS_NS = pad<bigint | null>([T2024 * 1000n + 789n, 0n, null, -1n, 1n], 5n);
const SMALL = pad<number | null>([-32768, 32767, null, 0], 7);

function isoDay(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** The shared fixture: every column type with NULLs, edge values and awkward strings. */
export function fixtureColumns(): FixtureColumn[] {
  return [
    { name: 'id', data: int32Data(TEXT.map((_, i) => i)), duckType: 'INTEGER', select: 'x', expected: TEXT.map((_, i) => i) },
    { name: 'text', data: utf8Data(TEXT), duckType: 'VARCHAR', select: 'x', expected: TEXT.map((t) => (t === null ? null : wellFormed(t))) },
    { name: 'big', data: int64Data(I64), duckType: 'BIGINT', select: 'x', expected: I64 },
    { name: 'amount', data: decimalData(DEC, 18, 4), duckType: 'DECIMAL(18,4)', select: 'CAST(x AS VARCHAR)', expected: DEC, decimal: true },
    { name: 'ratio', data: float64Data(DBL), duckType: 'DOUBLE', select: 'x', expected: DBL },
    { name: 'flag', data: boolData(BOOL), duckType: 'BOOLEAN', select: 'x', expected: BOOL },
    { name: 'day', data: dateDayData(DAYS), duckType: 'DATE', select: 'CAST(x AS VARCHAR)', expected: DAYS.map((d) => (d === null ? null : isoDay(d))) },
    { name: 'at_local', data: timestampData(TS, TimeUnit.MICROSECOND, null), duckType: 'TIMESTAMP', select: 'epoch_us(x)', expected: TS },
    { name: 'at_utc', data: timestampData(TS, TimeUnit.MICROSECOND, 'UTC'), duckType: 'TIMESTAMPTZ', select: 'epoch_us(x)', expected: TS },
    { name: 'at_india', data: timestampData(TS, TimeUnit.MICROSECOND, '+05:30'), duckType: 'TIMESTAMPTZ', select: 'epoch_us(x)', expected: TS },
    { name: 'at_paris', data: timestampData(TS.map((t) => (t === null ? null : t / 1000n)), TimeUnit.MILLISECOND, 'Europe/Paris'), duckType: 'TIMESTAMPTZ', select: 'epoch_ms(x)', expected: TS.map((t) => (t === null ? null : t / 1000n)) },
    { name: 'at_ns', data: timestampData(TS_NS, TimeUnit.NANOSECOND, null), duckType: 'TIMESTAMP_NS', select: 'epoch_ns(x)', expected: TS_NS },
    { name: 'naïve "col", 1', data: int16Data(SMALL), duckType: 'SMALLINT', select: 'x', expected: SMALL },
  ];
}

/** The fixture as batches of 5, 4 and 5 rows (slices, so encoders see non-zero Arrow offsets). */
export function fixtureBatches(columns: FixtureColumn[] = fixtureColumns()): RecordBatch[] {
  const whole = batchOf(columns.map((c) => [c.name, c.data] as const));
  return [whole.slice(0, 5), whole.slice(5, 9), whole.slice(9)];
}

/** A single row with `width` columns alternating integers and strings. */
export function wideColumns(width = 300): FixtureColumn[] {
  return Array.from({ length: width }, (_, i): FixtureColumn =>
    i % 2 === 0
      ? { name: `c${i}`, data: int32Data([i * 1000 - 7]), duckType: 'INTEGER', select: 'x', expected: [i * 1000 - 7] }
      : { name: `c${i}`, data: utf8Data([i % 3 === 0 ? null : `v${i}, "q"`]), duckType: 'VARCHAR', select: 'x', expected: [i % 3 === 0 ? null : `v${i}, "q"`] },
  );
}

/** What a UTF-8 pipeline makes of a JS string: lone surrogates become U+FFFD (String#toWellFormed). */
function wellFormed(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
