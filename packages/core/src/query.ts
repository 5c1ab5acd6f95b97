import { z } from 'zod';

/**
 * The dataset query a client submits (seed 001's `dataset`). Leaf schema module: imports only zod.
 * The shape is checked here; whether the columns exist and allow the aggregate is checked against
 * the catalog by `resolveQuery`.
 */
export const Aggregate = z.enum(['Avg', 'Sum', 'Min', 'Max', 'Count', 'CountDistinct', 'Median']);
export type Aggregate = z.infer<typeof Aggregate>;

const ColumnName = z.string().min(1).max(128);

export const Scope = z.strictObject({
  column: ColumnName,
  aggregate: Aggregate.optional(),
});
export type Scope = z.infer<typeof Scope>;

export const FilterValue = z.union([z.string().max(4096), z.number(), z.boolean()]);
export type FilterValue = z.infer<typeof FilterValue>;

export const FilterOp = z.union([
  z.strictObject({ equals: FilterValue }),
  z.strictObject({ in: z.array(FilterValue).min(1, 'in needs at least one value').max(10_000) }),
]);
export type FilterOp = z.infer<typeof FilterOp>;

export const Filter = z.strictObject({
  column: ColumnName,
  filter: FilterOp,
});
export type Filter = z.infer<typeof Filter>;

export const DatasetQuery = z.strictObject({
  /** Catalog key of the dataset; the catalog's default when absent. */
  from: z.string().min(1).max(128).optional(),
  scopes: z.array(Scope).min(1, 'at least one scope is required').max(256),
  filters: z.array(Filter).max(256).optional(),
  limit: z.int().positive().optional(),
});
export type DatasetQuery = z.infer<typeof DatasetQuery>;

/** Output column name for a scope: the column, or `<aggregate>_<column>` in snake case. */
export function scopeOutputName(scope: Scope): string {
  if (!scope.aggregate) return scope.column;
  const agg = scope.aggregate === 'CountDistinct' ? 'count_distinct' : scope.aggregate.toLowerCase();
  return `${agg}_${scope.column}`;
}
