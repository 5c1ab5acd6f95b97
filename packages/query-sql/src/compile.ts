import { FerryError, type ColumnDefinition, type FilterValue, type ResolvedQuery } from '@ferry/core';
import { aggregateSql, castType, type Dialect } from './dialect.js';
import { quoteIdent } from './quote.js';
import { relationSql } from './relation.js';

export interface CompiledQuery {
  sql: string;
  /** Positional parameters for `$1`, `$2`, ...: strings, numbers and booleans only. */
  params: Array<string | number | boolean>;
}

/** PostgreSQL's wire protocol carries at most 65535 parameters per statement. */
const MAX_PARAMS: Record<Dialect, number> = { duckdb: Number.MAX_SAFE_INTEGER, postgres: 65_535 };

/** The alias of the FROM item; the relation may be a subquery, which PostgreSQL requires to be named. */
const SOURCE_ALIAS = quoteIdent('ferry_source');

/**
 * Shape a filter value for binding. The SQL casts every parameter to the column's type, so the
 * value only needs to survive the driver: integers stay numbers, and anything that must be exact
 * beyond a double (bigint, decimal) or is parsed by the database (date, timestamp) goes as text.
 */
function paramValue(column: ColumnDefinition, value: FilterValue, path: ReadonlyArray<string | number>): string | number | boolean {
  switch (column.type) {
    case 'integer': {
      const n = typeof value === 'string' ? Number(value) : value;
      // Out of range would only surface as a database cast error (a 500); it is the client's mistake.
      if (typeof n !== 'number' || !Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) throw mismatch(column, value, path);
      return n;
    }
    case 'bigint': {
      const text = String(value);
      if (!/^-?\d+$/.test(text) || BigInt(text) < INT64_MIN || BigInt(text) > INT64_MAX) throw mismatch(column, value, path);
      return text;
    }
    case 'double':
      return typeof value === 'string' ? Number(value) : value;
    case 'decimal':
      return typeof value === 'number' ? String(value) : value;
    default:
      return value;
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function mismatch(column: ColumnDefinition, value: FilterValue, path: ReadonlyArray<string | number>): FerryError {
  return new FerryError('TYPE_MISMATCH', `${JSON.stringify(value)} is not a valid ${column.type} for column "${column.name}"`, { path });
}

/**
 * Compile a resolved query into one parameterized SELECT.
 *
 * - Identifiers come only from the catalog and are always quoted; filter values are always bound.
 * - Scopes become output columns in order, aliased by their output names.
 * - When any scope aggregates, the plain scopes form the GROUP BY.
 * - Rows are ordered by every output column, ascending, NULLS LAST, so the same query over the
 *   same data always gives the same file (and LIMIT picks the same rows).
 */
export function compileQuery(resolved: ResolvedQuery, dialect: Dialect): CompiledQuery {
  const params: CompiledQuery['params'] = [];
  const bind = (column: ColumnDefinition, value: FilterValue, path: ReadonlyArray<string | number>): string => {
    params.push(paramValue(column, value, path));
    return `CAST($${params.length} AS ${castType(dialect, column.type)})`;
  };

  const select = resolved.outputs.map((out) => {
    const col = quoteIdent(out.column.name);
    const expr = out.aggregate ? aggregateSql(dialect, out.aggregate, col, out.column.type) : col;
    return `${expr} AS ${quoteIdent(out.name)}`;
  });

  const byName = new Map(resolved.dataset.columns.map((c) => [c.name, c]));
  const where = (resolved.query.filters ?? []).map((filter, i) => {
    const column = byName.get(filter.column);
    // resolveQuery already rejected unknown columns; this guards a hand-built ResolvedQuery.
    if (!column) throw new FerryError('UNKNOWN_COLUMN', `dataset "${resolved.dataset.key}" has no column "${filter.column}"`);
    const col = quoteIdent(column.name);
    const op = filter.filter;
    if ('equals' in op) return `${col} = ${bind(column, op.equals, ['filters', i, 'filter', 'equals'])}`;
    return `${col} IN (${op.in.map((v, j) => bind(column, v, ['filters', i, 'filter', 'in', j])).join(', ')})`;
  });

  if (params.length > MAX_PARAMS[dialect]) {
    throw new FerryError('UNSUPPORTED', `the query's filters have ${params.length} values; ${dialect} accepts at most ${MAX_PARAMS[dialect]}`, {
      path: ['filters'],
    });
  }
  if (!Number.isSafeInteger(resolved.limit) || resolved.limit <= 0) {
    throw new FerryError('VALIDATION_FAILED', `limit must be a positive integer, got ${resolved.limit}`, { path: ['limit'] });
  }

  const aggregated = resolved.outputs.some((o) => o.aggregate);
  const groupBy = aggregated ? resolved.outputs.filter((o) => !o.aggregate).map((o) => quoteIdent(o.column.name)) : [];
  // Ordinals, not aliases: an alias like "avg_rent" could also be a column of the relation.
  const orderBy = resolved.outputs.map((_, i) => `${i + 1} ASC NULLS LAST`);

  const sql = [
    `SELECT ${select.join(', ')}`,
    `FROM ${relationSql(resolved.dataset, dialect)} AS ${SOURCE_ALIAS}`,
    ...(where.length ? [`WHERE ${where.join(' AND ')}`] : []),
    ...(groupBy.length ? [`GROUP BY ${groupBy.join(', ')}`] : []),
    `ORDER BY ${orderBy.join(', ')}`,
    // A validated safe integer, so it is spliced; keeping it out of params keeps the plan simple.
    `LIMIT ${resolved.limit}`,
  ].join('\n');
  return { sql, params };
}
