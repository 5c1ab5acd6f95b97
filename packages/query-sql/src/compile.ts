import { FerryError, type ResolvedOutput, type ResolvedQuery } from '@ferry/core';
import { conditionSql } from './conditions.js';
import { aggregateSql, bucketSql, orderedColumnSql, type Dialect } from './dialect.js';
import { Binder, positional, type ParamValue, type Placeholder } from './params.js';
import { quoteIdent } from './quote.js';
import { relationSql } from './relation.js';

export interface CompiledQuery {
  sql: string;
  /** Positional parameters for `$1`, `$2`, ...: strings, numbers and booleans only. */
  params: ParamValue[];
}

export interface CompileOptions {
  /** How parameter n is referenced; `$n` by default. Only ever SQL our code generates, never input. */
  placeholder?: Placeholder;
}

/** PostgreSQL's wire protocol carries at most 65535 parameters per statement. */
const MAX_PARAMS: Record<Dialect, number> = { duckdb: Number.MAX_SAFE_INTEGER, postgres: 65_535 };

/** The alias of the FROM item; the relation may be a subquery, which PostgreSQL requires to be named. */
const SOURCE_ALIAS = quoteIdent('ferry_source');

/** The value expression of one output, before its alias: a column, a time bucket or an aggregate. */
export function outputSql(dialect: Dialect, out: ResolvedOutput): string {
  const column = orderedColumnSql(dialect, quoteIdent(out.column.name), out.column.type);
  if (out.granularity) return bucketSql(dialect, out.granularity, quoteIdent(out.column.name), out.column.type);
  return out.aggregate ? aggregateSql(dialect, out.aggregate, column, out.column.type) : column;
}

/**
 * Compile a resolved query into one parameterized SELECT.
 *
 * - Identifiers come only from the catalog and are always quoted; output names (aliases are
 *   validated identifiers) are quoted too; filter values are always bound.
 * - Scopes become output columns in order. When any scope aggregates, the other scopes (time
 *   buckets included) form the GROUP BY; row filters go to WHERE, aggregate filters to HAVING.
 * - ORDER BY follows `resolved.orderBy` (requested keys, then every other output ascending), always
 *   NULLS LAST, so the same query over the same data gives the same file (and LIMIT the same rows).
 */
export function compileQuery(resolved: ResolvedQuery, dialect: Dialect, options: CompileOptions = {}): CompiledQuery {
  const bind = new Binder(dialect, options.placeholder ?? positional);
  const select = resolved.outputs.map((out) => `${outputSql(dialect, out)} AS ${quoteIdent(out.name)}`);
  const where = resolved.where && conditionSql(dialect, resolved.where, bind);
  const having = resolved.having && conditionSql(dialect, resolved.having, bind);

  if (bind.params.length > MAX_PARAMS[dialect]) {
    throw new FerryError('UNSUPPORTED', `the query's filters have ${bind.params.length} values; ${dialect} accepts at most ${MAX_PARAMS[dialect]}`, {
      path: ['filters'],
    });
  }
  // 0 is allowed: it describes the result's columns without reading a row (the start-up catalog check).
  if (!Number.isSafeInteger(resolved.limit) || resolved.limit < 0) {
    throw new FerryError('VALIDATION_FAILED', `limit must be a non-negative integer, got ${resolved.limit}`, { path: ['limit'] });
  }

  const groupBy = resolved.aggregated ? resolved.outputs.filter((o) => !o.aggregate).map((o) => outputSql(dialect, o)) : [];
  // Ordinals, not names: an output name like "avg_rent" could also be a column of the relation.
  const orderBy = resolved.orderBy.map((o) => `${o.output + 1} ${o.direction === 'desc' ? 'DESC' : 'ASC'} NULLS LAST`);

  const sql = [
    `SELECT ${select.join(', ')}`,
    `FROM ${relationSql(resolved.dataset, dialect)} AS ${SOURCE_ALIAS}`,
    ...(where ? [`WHERE ${where}`] : []),
    ...(groupBy.length ? [`GROUP BY ${groupBy.join(', ')}`] : []),
    ...(having ? [`HAVING ${having}`] : []),
    ...(orderBy.length > 0 ? [`ORDER BY ${orderBy.join(', ')}`] : []),
    // A validated safe integer, so it is spliced; keeping it out of params keeps the plan simple.
    `LIMIT ${resolved.limit}`,
  ].join('\n');
  return { sql, params: bind.params };
}
