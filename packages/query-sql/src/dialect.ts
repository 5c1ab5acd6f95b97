import type { Aggregate, ColumnType } from '@ferry/core';

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
 * The SQL for one aggregate over an already quoted column expression. Result types are pinned so
 * both dialects agree: Avg and Median are DOUBLE (DuckDB's avg of a DECIMAL and PostgreSQL's avg
 * of anything would otherwise differ); Count and CountDistinct BIGINT; Sum of integers BIGINT
 * (DuckDB would give HUGEINT, PostgreSQL numeric for bigint input; an overflow fails loudly).
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

/** The logical type of an output column, as `aggregateSql` produces it. */
export function outputType(type: ColumnType, aggregate?: Aggregate): ColumnType {
  switch (aggregate) {
    case undefined:
    case 'Min':
    case 'Max':
      return type;
    case 'Avg':
    case 'Median':
      return 'double';
    case 'Count':
    case 'CountDistinct':
      return 'bigint';
    case 'Sum':
      return type === 'integer' || type === 'bigint' ? 'bigint' : type;
  }
}
