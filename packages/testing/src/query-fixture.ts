import { DatasetDefinition } from '@ferry/core';
import { sqlIdent, sqlString } from './duckdb-reader.js';

/**
 * The rows every SQL source answers the shared query suite over. Small (40 rows) but awkward on
 * purpose: NULLs in every column, the empty string, LIKE metacharacters (`%`, `_`, `\`), a quote,
 * mixed case and non-ASCII text (collation), bigints beyond 2^53, negative decimals, dates across
 * ISO-week, month, quarter and year boundaries, and timestamps with fractions. Doubles are
 * multiples of 1/4 so sums are exact in any order and averages round once, identically everywhere.
 */

export type SuiteDialect = 'duckdb' | 'postgres';

interface SuiteColumn {
  name: string;
  type: 'string' | 'integer' | 'bigint' | 'double' | 'decimal' | 'boolean' | 'date' | 'timestamp';
  role: 'dimension' | 'measure' | 'time';
  sql: Record<SuiteDialect, string>;
}

const SAME = (t: string): Record<SuiteDialect, string> => ({ duckdb: t, postgres: t });

export const SUITE_COLUMNS: readonly SuiteColumn[] = [
  { name: 'id', type: 'integer', role: 'dimension', sql: SAME('INTEGER') },
  { name: 'city', type: 'string', role: 'dimension', sql: { duckdb: 'VARCHAR', postgres: 'text' } },
  { name: 'bed', type: 'integer', role: 'dimension', sql: SAME('INTEGER') },
  { name: 'rent', type: 'double', role: 'measure', sql: { duckdb: 'DOUBLE', postgres: 'double precision' } },
  { name: 'price', type: 'decimal', role: 'measure', sql: SAME('DECIMAL(10, 2)') },
  { name: 'big', type: 'bigint', role: 'measure', sql: SAME('BIGINT') },
  { name: 'flag', type: 'boolean', role: 'dimension', sql: SAME('BOOLEAN') },
  { name: 'day', type: 'date', role: 'time', sql: SAME('DATE') },
  { name: 'ts', type: 'timestamp', role: 'time', sql: SAME('TIMESTAMP') },
];

const CITIES = ['Seattle', 'seattle', 'Berlin', 'Zürich', 'a%b', 'a_b', 'axb', "O'Hara", '', 'back\\slash', 'Ångström', null];

function isoDate(daysFromEpoch: number): string {
  return new Date(daysFromEpoch * 86_400_000).toISOString().slice(0, 10);
}

/** Row i (1-based) as SQL literal text per column, or null. */
function row(i: number): Array<string | null> {
  const start = Date.UTC(2023, 11, 18) / 86_400_000; // a Monday
  const day = start + i * 11 + (i % 3);
  return [
    String(i),
    CITIES[i % CITIES.length]!,
    i % 7 === 0 ? null : String(i % 4),
    i % 9 === 0 ? null : String(1000 + ((i * 37) % 400) + 0.25 * (i % 4)),
    i % 11 === 0 ? null : `${i % 5 === 0 ? '-' : ''}${Math.floor(((i * 123) % 1000) / 100)}.${String((i * 123) % 100).padStart(2, '0')}`,
    i % 8 === 0 ? null : String(9_007_199_254_740_993n + BigInt(i * (i % 2 === 0 ? 1 : -1))),
    i % 3 === 2 ? null : i % 3 === 0 ? 'true' : 'false',
    i % 10 === 0 ? null : isoDate(day),
    i % 13 === 0 ? null : `${isoDate(day + 3)} ${String(i % 24).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}:30${i % 2 ? '.25' : ''}`,
  ];
}

export const SUITE_ROW_COUNT = 40;

function literal(column: SuiteColumn, value: string | null, dialect: SuiteDialect): string {
  if (value === null) return `CAST(NULL AS ${column.sql[dialect]})`;
  if (column.type === 'string') return sqlString(value);
  return `CAST(${sqlString(value)} AS ${column.sql[dialect]})`;
}

/** Statements that create `table` (a plain or schema-qualified name) holding the suite rows. */
export function suiteTableSql(dialect: SuiteDialect, table: string): string[] {
  const name = table.split('.').map(sqlIdent).join('.');
  const columns = SUITE_COLUMNS.map((c) => `${sqlIdent(c.name)} ${c.sql[dialect]}`).join(', ');
  const values = Array.from({ length: SUITE_ROW_COUNT }, (_, k) => {
    const cells = row(k + 1);
    return `(${SUITE_COLUMNS.map((c, j) => literal(c, cells[j]!, dialect)).join(', ')})`;
  });
  return [`CREATE TABLE ${name} (${columns})`, `INSERT INTO ${name} VALUES ${values.join(',\n')}`];
}

/** The catalog entry for the suite rows in `relation`. */
export function suiteDataset(relation: DatasetDefinition['relation']): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'suite',
    relation,
    columns: SUITE_COLUMNS.map(({ name, type, role }) => ({ name, type, role })),
    limits: { maxRows: 1000 },
  });
}
