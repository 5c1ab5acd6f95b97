import { aggregateOutputType, type Aggregate, type ColumnType, type Granularity } from '@ferry/core';
import { quoteLiteral } from './quote.js';

export type Dialect = 'duckdb' | 'postgres';

/**
 * The SQL type a filter value is cast to, per dialect. Casting the parameter in SQL (rather than
 * trusting each driver's inference from a JS value) makes `bed = $1` compare INTEGER to INTEGER on
 * every driver: node-api binds a JS number as DOUBLE, node-postgres sends text.
 *
 * decimal: DuckDB has no unbounded decimal, so DECIMAL(38,18) (exact for up to 20 integer and
 * 18 fractional digits); PostgreSQL's numeric is unbounded. timestamp: TIMESTAMPTZ so an explicit
 * offset (`Z`, `+02:00`) is honoured; values without one are read in the session time zone
 * (the DuckDB source pins it to UTC).
 */
const CAST_TYPES: Record<Dialect, Record<ColumnType, string>> = {
  duckdb: {
    string: 'VARCHAR',
    integer: 'INTEGER',
    bigint: 'BIGINT',
    double: 'DOUBLE',
    decimal: 'DECIMAL(38, 18)',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMPTZ',
  },
  postgres: {
    string: 'text',
    integer: 'integer',
    bigint: 'bigint',
    double: 'double precision',
    decimal: 'numeric',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamptz',
  },
};

export function castType(dialect: Dialect, type: ColumnType): string {
  return CAST_TYPES[dialect][type];
}

const DOUBLE: Record<Dialect, string> = { duckdb: 'DOUBLE', postgres: 'double precision' };
const BIGINT: Record<Dialect, string> = { duckdb: 'BIGINT', postgres: 'bigint' };

/**
 * A quoted column where its order matters (output, grouping, ORDER BY, Min/Max, gt/lt/between).
 * PostgreSQL orders text by the database's collation (en_US sorts 'a' < 'B'); DuckDB by code
 * point. `COLLATE "C"` makes PostgreSQL use byte order too, so both agree. Equality, IN and LIKE
 * do not depend on a deterministic collation and keep the bare column, so indexes still apply.
 */
export function orderedColumnSql(dialect: Dialect, quoted: string, type: ColumnType): string {
  return dialect === 'postgres' && type === 'string' ? `${quoted} COLLATE "C"` : quoted;
}

/**
 * The SQL for one aggregate over a column expression (from `columnSql`). Result types are pinned so
 * both dialects agree (see `aggregateOutputType` in @ferry/core): Avg and Median are DOUBLE
 * (DuckDB's avg of a DECIMAL and PostgreSQL's avg of anything would otherwise differ); Count and
 * CountDistinct BIGINT; Sum of integers BIGINT (DuckDB would give HUGEINT, PostgreSQL numeric for
 * bigint input; an overflow fails loudly).
 */
export function aggregateSql(dialect: Dialect, aggregate: Aggregate, column: string, type: ColumnType): string {
  switch (aggregate) {
    case 'Avg':
      return `CAST(avg(${column}) AS ${DOUBLE[dialect]})`;
    case 'Sum':
      return type === 'integer' || type === 'bigint' ? `CAST(sum(${column}) AS ${BIGINT[dialect]})` : `sum(${column})`;
    case 'Min':
      return `min(${column})`;
    case 'Max':
      return `max(${column})`;
    case 'Count':
      return `count(${column})`;
    case 'CountDistinct':
      return `count(DISTINCT ${column})`;
    case 'Median':
      return dialect === 'duckdb'
        ? `CAST(median(${column}) AS DOUBLE)`
        : `CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY ${column}) AS double precision)`;
  }
}

/**
 * A time bucket: the first day of the column's week (ISO, Monday), month, quarter or year, as a
 * DATE. PostgreSQL's date_trunc has no DATE overload (it would go through timestamptz and the
 * session time zone), so dates are truncated as plain timestamps there. Timestamps with a time
 * zone are truncated in the session time zone, which both sources pin to UTC.
 */
export function bucketSql(dialect: Dialect, granularity: Granularity, column: string, type: ColumnType): string {
  const input = dialect === 'postgres' && type === 'date' ? `CAST(${column} AS timestamp)` : column;
  return `CAST(date_trunc(${quoteLiteral(granularity)}, ${input}) AS ${castType(dialect, 'date')})`;
}

/** The logical type of an output column, as `aggregateSql` produces it. */
export function outputType(type: ColumnType, aggregate?: Aggregate): ColumnType {
  return aggregateOutputType(type, aggregate);
}
