import { z } from 'zod';
import { Aggregate, type DatasetQuery, type FilterValue, scopeOutputName } from './query.js';
import { FerryError } from './errors.js';

export const ColumnType = z.enum(['string', 'integer', 'bigint', 'double', 'decimal', 'boolean', 'date', 'timestamp']);
export type ColumnType = z.infer<typeof ColumnType>;

export const ColumnDefinition = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'column names are identifiers'),
  type: ColumnType,
  role: z.enum(['dimension', 'measure', 'time']),
  description: z.string().optional(),
  /** Aggregates a client may apply; default: numeric measures get all, others Count/CountDistinct/Min/Max. */
  aggregates: z.array(Aggregate).optional(),
  /** Unit-level or otherwise private columns can be described but never exported. */
  exportable: z.boolean().default(true),
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
});
export type DatasetDefinition = z.infer<typeof DatasetDefinition>;

const NUMERIC: ReadonlySet<ColumnType> = new Set(['integer', 'bigint', 'double', 'decimal']);

export function allowedAggregates(column: ColumnDefinition): readonly Aggregate[] {
  if (column.aggregates) return column.aggregates;
  if (column.role === 'measure' && NUMERIC.has(column.type)) return Aggregate.options;
  return ['Count', 'CountDistinct', 'Min', 'Max'];
}

/** A query checked against its dataset: every column known, every value typed. */
export interface ResolvedQuery {
  dataset: DatasetDefinition;
  query: DatasetQuery;
  /** Output columns, in scope order. */
  outputs: ReadonlyArray<{ name: string; column: ColumnDefinition; aggregate?: Aggregate }>;
  limit: number;
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

/**
 * Check a query against the catalog. Every mistake is a 400 with the path of the bad field,
 * relative to `basePath` (the API passes `['dataset']`).
 */
export function resolveQuery(catalog: Catalog, query: DatasetQuery, basePath: ReadonlyArray<string | number> = []): ResolvedQuery {
  const key = query.from ?? catalog.defaultKey;
  const dataset = catalog.get(key);
  if (!dataset) throw new FerryError('UNKNOWN_DATASET', `unknown dataset "${key}"`, { path: [...basePath, 'from'] });
  const columns = new Map(dataset.columns.map((c) => [c.name, c]));
  const lookup = (name: string, path: ReadonlyArray<string | number>): ColumnDefinition => {
    const column = columns.get(name);
    if (!column) throw new FerryError('UNKNOWN_COLUMN', `dataset "${key}" has no column "${name}"`, { path: [...basePath, ...path] });
    if (!column.exportable) {
      throw new FerryError('COLUMN_NOT_EXPORTABLE', `column "${name}" cannot be exported`, { path: [...basePath, ...path] });
    }
    return column;
  };

  const seen = new Set<string>();
  const outputs = query.scopes.map((scope, i) => {
    const column = lookup(scope.column, ['scopes', i, 'column']);
    if (scope.aggregate && !allowedAggregates(column).includes(scope.aggregate)) {
      throw new FerryError('AGGREGATE_NOT_ALLOWED', `aggregate ${scope.aggregate} is not allowed on "${column.name}"`, {
        path: [...basePath, 'scopes', i, 'aggregate'],
      });
    }
    const name = scopeOutputName(scope);
    if (seen.has(name)) throw new FerryError('VALIDATION_FAILED', `scope "${name}" appears twice`, { path: [...basePath, 'scopes', i] });
    seen.add(name);
    return { name, column, ...(scope.aggregate ? { aggregate: scope.aggregate } : {}) };
  });

  (query.filters ?? []).forEach((filter, i) => {
    const column = lookup(filter.column, ['filters', i, 'column']);
    const op = filter.filter;
    if ('equals' in op) checkValue(column, op.equals, [...basePath, 'filters', i, 'filter', 'equals']);
    else op.in.forEach((v, j) => checkValue(column, v, [...basePath, 'filters', i, 'filter', 'in', j]));
  });

  const maxRows = dataset.limits.maxRows;
  if (query.limit !== undefined && query.limit > maxRows) {
    throw new FerryError('LIMIT_EXCEEDED', `limit ${query.limit} exceeds the dataset's maximum of ${maxRows} rows`, {
      path: [...basePath, 'limit'],
    });
  }
  return { dataset, query, outputs, limit: query.limit ?? maxRows };
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function isInt64(text: string): boolean {
  if (!/^-?\d{1,19}$/.test(text)) return false;
  const n = BigInt(text);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function checkValue(column: ColumnDefinition, value: FilterValue, path: ReadonlyArray<string | number>): void {
  const ok = (() => {
    switch (column.type) {
      case 'string':
        return typeof value === 'string';
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
      case 'bigint':
        // Beyond 2^53 a JSON number has already lost digits, so large values must come as strings.
        return (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && isInt64(value));
      case 'double':
      case 'decimal':
        return (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value));
      case 'boolean':
        return typeof value === 'boolean';
      case 'date':
        return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value));
      case 'timestamp':
        return typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value));
    }
  })();
  if (!ok) {
    throw new FerryError('TYPE_MISMATCH', `${JSON.stringify(value)} is not a valid ${column.type} for column "${column.name}"`, { path });
  }
}
