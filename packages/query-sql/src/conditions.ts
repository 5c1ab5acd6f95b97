import type { FilterValue, ResolvedComparison, ResolvedCondition } from '@ferry/core';
import { aggregateSql, orderedColumnSql, type Dialect } from './dialect.js';
import type { Binder } from './params.js';
import { quoteIdent } from './quote.js';

/**
 * LIKE metacharacters in a client's text are matched literally: `\`, `%` and `_` are escaped with
 * `\`, which every LIKE here declares as its ESCAPE character. The pattern is still a bound value.
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const COMPARISON = { equals: '=', notEquals: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

const ORDERED: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte', 'between']);

/** SQL for the thing a comparison tests: the column, or its aggregate for a HAVING filter. */
function subjectSql(dialect: Dialect, c: ResolvedComparison): string {
  const quoted = quoteIdent(c.column.name);
  if (c.aggregate) return aggregateSql(dialect, c.aggregate, orderedColumnSql(dialect, quoted, c.column.type), c.column.type);
  return ORDERED.has(c.operator) ? orderedColumnSql(dialect, quoted, c.column.type) : quoted;
}

/**
 * One comparison. NULL semantics are SQL's three-valued logic on both dialects: a NULL never
 * satisfies any operator except `isNull: true`, so `notEquals`, `notIn` and `notContains` drop NULL
 * rows (filter values themselves are never NULL, so `NOT IN` has no NULL trap).
 */
function comparisonSql(dialect: Dialect, c: ResolvedComparison, bind: Binder): string {
  const subject = subjectSql(dialect, c);
  const { operator, operand, type, path } = c;
  const value = (v: FilterValue, p = path) => bind.value(type, v, p);
  const like = (pattern: string) => `${subject}${operator === 'notContains' ? ' NOT' : ''} LIKE ${bind.raw(pattern, 'string')} ESCAPE '\\'`;
  switch (operator) {
    case 'equals':
    case 'notEquals':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `${subject} ${COMPARISON[operator]} ${value(operand as FilterValue)}`;
    case 'in':
    case 'notIn': {
      const list = (operand as FilterValue[]).map((v, j) => value(v, [...path, j]));
      return `${subject} ${operator === 'in' ? 'IN' : 'NOT IN'} (${list.join(', ')})`;
    }
    case 'between': {
      const [lo, hi] = operand as [FilterValue, FilterValue];
      return `${subject} BETWEEN ${value(lo, [...path, 0])} AND ${value(hi, [...path, 1])}`;
    }
    case 'contains':
    case 'notContains':
      return like(`%${escapeLike(operand as string)}%`);
    case 'startsWith':
      return like(`${escapeLike(operand as string)}%`);
    case 'endsWith':
      return like(`%${escapeLike(operand as string)}`);
    case 'isNull':
      return `${subject} IS ${operand === true ? '' : 'NOT '}NULL`;
  }
}

/**
 * A condition tree as SQL. Nested groups are parenthesized so AND/OR precedence never matters; the
 * top level (a whole WHERE or HAVING) needs no parentheses.
 */
export function conditionSql(dialect: Dialect, condition: ResolvedCondition, bind: Binder, top = true): string {
  if (condition.kind === 'compare') return comparisonSql(dialect, condition, bind);
  const parts = condition.items.map((item) => conditionSql(dialect, item, bind, false));
  const joined = parts.join(condition.kind === 'and' ? ' AND ' : ' OR ');
  return top || parts.length === 1 ? joined : `(${joined})`;
}
