import { z } from 'zod';

/**
 * The dataset query a client submits (seed 001's `dataset`). Leaf schema module: imports only zod.
 * The shape is checked here; whether the columns exist, allow the aggregate or granularity, and
 * whether values fit the column types is checked against the catalog by `resolveQuery`.
 * The full grammar is documented in packages/query-sql/README.md.
 */
export const Aggregate = z.enum(['Avg', 'Sum', 'Min', 'Max', 'Count', 'CountDistinct', 'Median']);
export type Aggregate = z.infer<typeof Aggregate>;

/** Time buckets. Week is the finest (seed 000: no day-level data); weeks are ISO weeks, starting Monday. */
export const Granularity = z.enum(['week', 'month', 'quarter', 'year']);
export type Granularity = z.infer<typeof Granularity>;

const ColumnName = z.string().min(1).max(128);

/**
 * An output name chosen by the client. Identifier-safe (it becomes a quoted SQL alias and a CSV
 * header) and at most 63 characters, PostgreSQL's identifier limit, so no database truncates it.
 */
export const Alias = z
  .string()
  .max(63, 'an alias has at most 63 characters')
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an alias starts with a letter or _ and holds only letters, digits and _');

export const Scope = z
  .strictObject({
    column: ColumnName,
    aggregate: Aggregate.optional(),
    granularity: Granularity.optional(),
    alias: Alias.optional(),
  })
  .refine((s) => !(s.aggregate && s.granularity), {
    message: 'a scope takes an aggregate or a granularity, not both',
    path: ['granularity'],
  });
export type Scope = z.infer<typeof Scope>;

export const FilterValue = z.union([z.string().max(4096), z.number(), z.boolean()]);
export type FilterValue = z.infer<typeof FilterValue>;

const Values = (op: string) => z.array(FilterValue).min(1, `${op} needs at least one value`).max(10_000);
const Pattern = z.string().max(4096);

/**
 * One operator per filter, e.g. `{"gte": 2}`. Written as one object with optional keys (rather than
 * a union) so a mistake is reported at the exact key (`filter.in`) and unknown operators are named.
 */
export const FilterOp = z
  .strictObject({
    equals: FilterValue.optional(),
    notEquals: FilterValue.optional(),
    in: Values('in').optional(),
    notIn: Values('notIn').optional(),
    gt: FilterValue.optional(),
    gte: FilterValue.optional(),
    lt: FilterValue.optional(),
    lte: FilterValue.optional(),
    between: z.tuple([FilterValue, FilterValue], { error: 'between takes [low, high]' }).optional(),
    contains: Pattern.optional(),
    notContains: Pattern.optional(),
    startsWith: Pattern.optional(),
    endsWith: Pattern.optional(),
    isNull: z.boolean().optional(),
  })
  .refine((op) => Object.keys(op).length === 1, { message: 'a filter takes exactly one operator' });
export type FilterOp = z.infer<typeof FilterOp>;
export type FilterOperator = keyof FilterOp;

/** The single operator of a filter and its operand. */
export function filterOperator(op: FilterOp): { operator: FilterOperator; operand: NonNullable<FilterOp[FilterOperator]> } {
  const operator = Object.keys(op)[0] as FilterOperator;
  return { operator, operand: op[operator]! };
}

/** A condition on a column, or (with `aggregate`) on an aggregate of it, applied after grouping. */
export interface ColumnFilter {
  column: string;
  aggregate?: Aggregate;
  filter: FilterOp;
}
export type FilterGroup = { and: FilterNode[] } | { or: FilterNode[] };
export type FilterNode = ColumnFilter | FilterGroup;

/** Groups nest at most this deep, so a hostile query cannot build an unbounded expression. */
export const MAX_FILTER_DEPTH = 8;

// Recursive: the OpenAPI document refers to a filter by this name.
const FilterList = z
  .array(z.lazy((): z.ZodType<FilterNode> => FilterNodeSchema).meta({ id: 'Filter' }))
  .max(256)
  .meta({ id: 'FilterList' });

/**
 * A filter or a group. One object schema with a refinement (rather than a union) for the same reason
 * as FilterOp: errors point at the exact key, e.g. `filters[0].or[1].filter.in`.
 */
const FilterNodeSchema: z.ZodType<FilterNode> = z
  .strictObject({
    column: ColumnName.optional(),
    aggregate: Aggregate.optional(),
    filter: FilterOp.optional(),
    and: FilterList.min(1, 'a group needs at least one filter').optional(),
    or: FilterList.min(1, 'a group needs at least one filter').optional(),
  })
  .superRefine((node, ctx) => {
    const group = (node.and ? 1 : 0) + (node.or ? 1 : 0);
    const leaf = node.column !== undefined || node.filter !== undefined || node.aggregate !== undefined;
    if (group + (leaf ? 1 : 0) !== 1) {
      ctx.addIssue({ code: 'custom', message: 'a filter is either {column, filter} or one group {and: [...]} / {or: [...]}' });
      return;
    }
    if (leaf && node.column === undefined) ctx.addIssue({ code: 'custom', message: 'column is required', path: ['column'] });
    if (leaf && node.filter === undefined) ctx.addIssue({ code: 'custom', message: 'filter is required', path: ['filter'] });
  })
  .transform((node): FilterNode => {
    // Rebuild the node as its precise type; the value is unchanged (only present keys are copied).
    if (node.and) return { and: node.and };
    if (node.or) return { or: node.or };
    return { column: node.column!, ...(node.aggregate ? { aggregate: node.aggregate } : {}), filter: node.filter! };
  });
export const Filter = FilterNodeSchema;
export type Filter = FilterNode;

/**
 * Refuse groups nested deeper than MAX_FILTER_DEPTH before zod recurses into them: a hostile body
 * nested thousands deep would otherwise exhaust the stack (a 500) instead of getting a 400.
 * Iterative on purpose.
 */
function rejectDeepGroups(value: unknown, ctx: z.core.$RefinementCtx): unknown {
  if (!Array.isArray(value)) return value;
  const stack: Array<{ list: unknown[]; depth: number; path: Array<string | number> }> = [{ list: value, depth: 1, path: [] }];
  while (stack.length) {
    const { list, depth, path } = stack.pop()!;
    for (const [i, node] of list.entries()) {
      if (!node || typeof node !== 'object') continue;
      for (const key of ['and', 'or'] as const) {
        const inner: unknown = (node as Record<string, unknown>)[key];
        if (!Array.isArray(inner)) continue;
        if (depth >= MAX_FILTER_DEPTH) {
          ctx.addIssue({ code: 'custom', message: `filter groups nest at most ${MAX_FILTER_DEPTH} deep`, path: [...path, i, key], input: value });
          return [];
        }
        stack.push({ list: inner, depth: depth + 1, path: [...path, i, key] });
      }
    }
  }
  return value;
}

export function isFilterGroup(node: FilterNode): node is FilterGroup {
  return 'and' in node || 'or' in node;
}

export const OrderBy = z.strictObject({
  /** An output name (alias or default name), or the column of exactly one scope. */
  column: ColumnName,
  direction: z.enum(['asc', 'desc']).default('asc'),
});
export type OrderBy = z.infer<typeof OrderBy>;

export const DatasetQuery = z.strictObject({
  /** Catalog key of the dataset; the catalog's default when absent. */
  from: z.string().min(1).max(128).optional(),
  scopes: z.array(Scope).min(1, 'at least one scope is required').max(256),
  /** Top-level filters all apply (an implicit `and`). Depth is checked before the recursive parse. */
  filters: z.preprocess(rejectDeepGroups, FilterList).optional(),
  /**
   * Sort keys; every other output follows ascending, so results are deterministic. `null` asks for
   * no ordering at all: rows come in the source's own order, which is much faster for large raw exports.
   */
  orderBy: z.array(OrderBy).max(256).nullable().optional(),
  limit: z.int().positive().optional(),
});
export type DatasetQuery = z.infer<typeof DatasetQuery>;

/**
 * Default output name of a scope (when it has no alias): the column; `<aggregate>_<column>` in
 * snake case (`avg_asking_rent`, `count_distinct_msa`); `<column>_<granularity>` for a time bucket
 * (`as_of_week_month`).
 */
export function scopeOutputName(scope: Pick<Scope, 'column' | 'aggregate' | 'granularity' | 'alias'>): string {
  if (scope.alias) return scope.alias;
  if (scope.granularity) return `${scope.column}_${scope.granularity}`;
  if (!scope.aggregate) return scope.column;
  return `${aggregateSlug(scope.aggregate)}_${scope.column}`;
}

function aggregateSlug(aggregate: Aggregate): string {
  return aggregate === 'CountDistinct' ? 'count_distinct' : aggregate.toLowerCase();
}
