import { z } from 'zod';
import { Aggregate, Granularity } from './query.js';
import { FerryError } from './errors.js';
import { DatasetVersioning } from './versions.js';

export const ColumnType = z.enum(['string', 'integer', 'bigint', 'double', 'decimal', 'boolean', 'date', 'timestamp']);
export type ColumnType = z.infer<typeof ColumnType>;

export const ColumnDefinition = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'column names are identifiers'),
    type: ColumnType,
    role: z.enum(['dimension', 'measure', 'time']),
    description: z.string().optional(),
    /** Aggregates a client may apply; default: numeric measures get all, others Count/CountDistinct/Min/Max. */
    aggregates: z.array(Aggregate).optional(),
    /**
     * Time buckets a client may ask for on a `role: "time"` column; default week, month, quarter and
     * year. Nothing finer than week exists in the grammar (seed 000: week is the finest granularity).
     */
    granularities: z.array(Granularity).min(1).optional(),
    /** Unit-level or otherwise private columns can be described but never exported. */
    exportable: z.boolean().default(true),
  })
  .refine((c) => !c.granularities || (c.role === 'time' && (c.type === 'date' || c.type === 'timestamp')), {
    message: 'granularities apply only to role "time" columns of type date or timestamp',
    path: ['granularities'],
  });
export type ColumnDefinition = z.infer<typeof ColumnDefinition>;

export const DatasetDefinition = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9_]*$/, 'dataset keys are lower snake case'),
  description: z.string().optional(),
  /** Name of the source slot that serves this dataset. */
  source: z.string().default('default'),
  /** Exactly one of: a table name, a file glob (DuckDB reads it), or a SQL query. */
  relation: z.union([
    z.strictObject({ table: z.string().min(1) }),
    z.strictObject({ file: z.string().min(1) }),
    z.strictObject({ sql: z.string().min(1) }),
  ]),
  columns: z.array(ColumnDefinition).min(1),
  primaryKey: z.array(z.string()).optional(),
  limits: z.strictObject({ maxRows: z.int().positive().default(1_000_000) }).default({ maxRows: 1_000_000 }),
  /** Published versions (snapshots + deltas, see docs/versions.md); needs `primaryKey`. */
  versioning: DatasetVersioning.optional(),
});
export type DatasetDefinition = z.infer<typeof DatasetDefinition>;

const NUMERIC: ReadonlySet<ColumnType> = new Set(['integer', 'bigint', 'double', 'decimal']);

export function allowedAggregates(column: ColumnDefinition): readonly Aggregate[] {
  if (column.aggregates) return column.aggregates;
  if (column.role === 'measure' && NUMERIC.has(column.type)) return Aggregate.options;
  return ['Count', 'CountDistinct', 'Min', 'Max'];
}

/** Granularities a column allows: none unless it is a date/timestamp time column. */
export function allowedGranularities(column: ColumnDefinition): readonly Granularity[] {
  if (column.role !== 'time' || (column.type !== 'date' && column.type !== 'timestamp')) return [];
  return column.granularities ?? Granularity.options;
}

/**
 * The logical type of an aggregate's result, the same on every SQL dialect (query-sql pins it with
 * casts): Avg and Median double; Count and CountDistinct bigint; Sum of integers bigint, else the
 * input type; Min and Max the input type.
 */
export function aggregateOutputType(type: ColumnType, aggregate?: Aggregate): ColumnType {
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

export interface Catalog {
  readonly defaultKey: string;
  list(): readonly DatasetDefinition[];
  get(key: string): DatasetDefinition | undefined;
}

export function createCatalog(datasets: readonly DatasetDefinition[], defaultKey?: string): Catalog {
  const byKey = new Map(datasets.map((d) => [d.key, d]));
  const first = datasets[0];
  if (!first) throw new FerryError('INVALID_CONFIG', 'the catalog needs at least one dataset', { path: ['datasets'] });
  const def = defaultKey ?? first.key;
  if (!byKey.has(def)) throw new FerryError('INVALID_CONFIG', `default dataset "${def}" is not in the catalog`, { path: ['defaultDataset'] });
  return { defaultKey: def, list: () => datasets, get: (key) => byKey.get(key) };
}

// Resolution lives in its own module; re-exported here so `@ferry/core` keeps one entry point for it.
export { resolveQuery, type ResolvedQuery, type ResolvedOutput, type ResolvedCondition, type ResolvedComparison, type ResolvedOrder } from './resolve.js';
