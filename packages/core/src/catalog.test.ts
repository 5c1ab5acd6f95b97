import { describe, expect, it } from 'vitest';
import { ColumnDefinition, ColumnType, DatasetDefinition, aggregateOutputType, allowedAggregates, allowedGranularities, createCatalog, resolveQuery } from './catalog.js';
import { DatasetQuery } from './query.js';
import { ExportRequest } from './export.js';
import { FerryError, formatPath } from './errors.js';
import { parseOrThrow } from './validate.js';

const rentals = DatasetDefinition.parse({
  key: 'rentals',
  relation: { file: 'rentals.parquet' },
  columns: [
    { name: 'msa', type: 'string', role: 'dimension' },
    { name: 'street_address', type: 'string', role: 'dimension' },
    { name: 'bed', type: 'integer', role: 'dimension' },
    { name: 'asking_rent', type: 'double', role: 'measure' },
    { name: 'as_of_week', type: 'date', role: 'time' },
    { name: 'unit_number', type: 'string', role: 'dimension', exportable: false },
  ],
  limits: { maxRows: 50_000 },
});
const catalog = createCatalog([rentals]);

function failure(fn: () => unknown): { code: string; path?: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return { code: err.code, path: err.path && formatPath(err.path) };
    throw err;
  }
  throw new Error('expected a failure');
}

const seedQuery = {
  scopes: [{ column: 'street_address' }, { column: 'asking_rent', aggregate: 'Avg' }],
  filters: [
    { column: 'msa', filter: { equals: 'Seattle, WA' } },
    { column: 'bed', filter: { in: [1, 2, 3] } },
  ],
  limit: 10000,
};

describe('query resolution against the catalog', () => {
  it('accepts the seed query and names outputs by scope', () => {
    const resolved = resolveQuery(catalog, DatasetQuery.parse(seedQuery));
    expect(resolved.dataset.key).toBe('rentals');
    expect(resolved.outputs.map((o) => o.name)).toEqual(['street_address', 'avg_asking_rent']);
    expect(resolved.limit).toBe(10000);
  });

  it('reports each mistake with its code and path', () => {
    const check = (query: unknown) => failure(() => resolveQuery(catalog, parseOrThrow(DatasetQuery, query, { basePath: ['dataset'] }), ['dataset']));
    expect(check({ ...seedQuery, scopes: [{ column: 'nope' }] })).toEqual({ code: 'UNKNOWN_COLUMN', path: 'dataset.scopes[0].column' });
    expect(check({ ...seedQuery, scopes: [{ column: 'msa', aggregate: 'Avg' }] })).toEqual({ code: 'AGGREGATE_NOT_ALLOWED', path: 'dataset.scopes[0].aggregate' });
    expect(check({ ...seedQuery, scopes: [{ column: 'msa', aggregate: 'Mean' }] })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset.scopes[0].aggregate' });
    expect(check({ ...seedQuery, filters: [{ column: 'bed', filter: { in: [] } }] })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset.filters[0].filter.in' });
    expect(check({ ...seedQuery, filters: [{ column: 'bed', filter: { in: [1, 'two'] } }] })).toEqual({ code: 'TYPE_MISMATCH', path: 'dataset.filters[0].filter.in[1]' });
    expect(check({ ...seedQuery, filters: [{ column: 'bed', filter: { equals: 2 ** 31 } }] })).toEqual({ code: 'TYPE_MISMATCH', path: 'dataset.filters[0].filter.equals' });
    expect(check({ ...seedQuery, filters: [{ column: 'bed', filter: { equals: 1.5 } }] })).toEqual({ code: 'TYPE_MISMATCH', path: 'dataset.filters[0].filter.equals' });
    expect(check({ ...seedQuery, filters: [{ column: 'as_of_week', filter: { equals: 'yesterday' } }] })).toEqual({ code: 'TYPE_MISMATCH', path: 'dataset.filters[0].filter.equals' });
    expect(check({ ...seedQuery, filters: [{ column: 'msa', filter: { like: '%' } }] })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset.filters[0].filter' });
    expect(check({ ...seedQuery, scopes: [{ column: 'unit_number' }] })).toEqual({ code: 'COLUMN_NOT_EXPORTABLE', path: 'dataset.scopes[0].column' });
    expect(check({ ...seedQuery, limit: 50_001 })).toEqual({ code: 'LIMIT_EXCEEDED', path: 'dataset.limit' });
    expect(check({ ...seedQuery, limit: 0 })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset.limit' });
    expect(check({ ...seedQuery, from: 'leases' })).toEqual({ code: 'UNKNOWN_DATASET', path: 'dataset.from' });
    expect(check({ ...seedQuery, scopes: [] })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset.scopes' });
    expect(check({ ...seedQuery, extra: 1 })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset' });
    expect(check({ ...seedQuery, scopes: [{ column: 'msa' }, { column: 'msa' }] })).toEqual({ code: 'VALIDATION_FAILED', path: 'dataset.scopes[1]' });
  });

  it('keeps a hostile filter value as data', () => {
    const hostile = "Seattle'; DROP TABLE rentals; --";
    const resolved = resolveQuery(catalog, DatasetQuery.parse({ ...seedQuery, filters: [{ column: 'msa', filter: { equals: hostile } }] }));
    expect(resolved.query.filters?.[0]).toEqual({ column: 'msa', filter: { equals: hostile } });
  });
});

describe('export request', () => {
  it('requires every field with a path', () => {
    const base = { dataset: seedQuery, webhookURL: 'https://example.com/h', name: 'x', format: 'csv' };
    const check = (body: unknown) => failure(() => parseOrThrow(ExportRequest, body));
    // Formats are an open set (an unoffered name is refused at submit); a malformed name is refused here.
    expect(check({ ...base, format: 'CSV!' })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'format' });
    expect(check({ ...base, name: '  ' })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'name' });
    expect(check({ ...base, name: undefined })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'name' });
    expect(check({ ...base, webhookURL: 42 })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'webhookURL' });
    expect(check({ ...base, dataset: 'select 1' })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset' });
  });
});

describe('catalog definitions', () => {
  const column = (extra: Record<string, unknown> = {}) => ({ name: 'msa', type: 'string', role: 'dimension', ...extra });
  const dataset = (extra: Record<string, unknown> = {}) => ({ key: 'rents', relation: { table: 'rents' }, columns: [column()], ...extra });
  const refusal = (schema: Parameters<typeof parseOrThrow>[0], value: unknown): { code: string; path?: string; message: string } => {
    try {
      parseOrThrow(schema, value, { basePath: ['datasets', 0] });
    } catch (err) {
      if (err instanceof FerryError) return { code: err.code, path: err.path && formatPath(err.path), message: err.message };
      throw err;
    }
    throw new Error('expected a refusal');
  };

  it('fills in the defaults: source "default", exportable columns, a million rows', () => {
    expect(DatasetDefinition.parse(dataset())).toEqual({
      key: 'rents',
      source: 'default',
      relation: { table: 'rents' },
      columns: [{ name: 'msa', type: 'string', role: 'dimension', exportable: true }],
      limits: { maxRows: 1_000_000 },
    });
    expect(DatasetDefinition.parse(dataset({ source: 'warehouse', limits: {} })).limits).toEqual({ maxRows: 1_000_000 });
    expect(DatasetDefinition.parse(dataset({ source: 'warehouse' })).source).toBe('warehouse');
  });

  it('accepts every column type and role, and a table, a file or a SQL relation', () => {
    expect(ColumnType.options).toEqual(['string', 'integer', 'bigint', 'double', 'decimal', 'boolean', 'date', 'timestamp']);
    for (const type of ColumnType.options) for (const role of ['dimension', 'measure']) expect(ColumnDefinition.parse(column({ type, role })).type).toBe(type);
    for (const relation of [{ table: 't' }, { file: 'data/*.parquet' }, { sql: 'select 1' }]) expect(DatasetDefinition.parse(dataset({ relation })).relation).toEqual(relation);
  });

  it.each([
    ['a column name that is not an identifier', dataset({ columns: [column({ name: 'asking rent' })] }), 'datasets[0].columns[0].name', 'column names are identifiers'],
    ['a column name starting with a digit', dataset({ columns: [column({ name: '1st' })] }), 'datasets[0].columns[0].name', 'column names are identifiers'],
    ['a column name with a trailing symbol', dataset({ columns: [column({ name: 'rent$' })] }), 'datasets[0].columns[0].name', 'column names are identifiers'],
    ['a key that is not lower snake case', dataset({ key: 'Rents' }), 'datasets[0].key', 'dataset keys are lower snake case'],
    ['a key starting with a digit', dataset({ key: '2024_rents' }), 'datasets[0].key', 'dataset keys are lower snake case'],
    ['a key with a hyphen', dataset({ key: 'rents-2024' }), 'datasets[0].key', 'dataset keys are lower snake case'],
    ['no columns', dataset({ columns: [] }), 'datasets[0].columns', 'Too small: expected array to have >=1 items'],
    ['an empty table name', dataset({ relation: { table: '' } }), 'datasets[0].relation.table', 'Too small: expected string to have >=1 characters'],
    ['an empty file glob', dataset({ relation: { file: '' } }), 'datasets[0].relation.file', 'Too small: expected string to have >=1 characters'],
    ['an empty SQL query', dataset({ relation: { sql: '' } }), 'datasets[0].relation.sql', 'Too small: expected string to have >=1 characters'],
    ['a relation with two kinds', dataset({ relation: { table: 't', sql: 'select 1' } }), 'datasets[0].relation', 'Invalid input'],
    ['a zero row limit', dataset({ limits: { maxRows: 0 } }), 'datasets[0].limits.maxRows', 'Too small: expected number to be >0'],
    ['a fractional row limit', dataset({ limits: { maxRows: 1.5 } }), 'datasets[0].limits.maxRows', 'Invalid input: expected int, received number'],
    ['an unknown dataset field', dataset({ table: 'rents' }), 'datasets[0]', 'unknown field(s): table'],
    ['an unknown column field', dataset({ columns: [column({ format: 'x' })] }), 'datasets[0].columns[0]', 'unknown field(s): format'],
    ['an unknown role', dataset({ columns: [column({ role: 'metric' })] }), 'datasets[0].columns[0].role', 'Invalid option: expected one of "dimension"|"measure"|"time"'],
    ['an unknown aggregate', dataset({ columns: [column({ aggregates: ['Mean'] })] }), 'datasets[0].columns[0].aggregates[0]', 'Invalid option: expected one of "Avg"|"Sum"|"Min"|"Max"|"Count"|"CountDistinct"|"Median"'],
    ['an empty granularity list', dataset({ columns: [column({ name: 'd', type: 'date', role: 'time', granularities: [] })] }), 'datasets[0].columns[0].granularities', 'Too small: expected array to have >=1 items'],
  ])('refuses %s at its path', (_what, value, path, message) => {
    expect(refusal(DatasetDefinition, value)).toEqual({ code: 'VALIDATION_FAILED', path, message });
  });

  it('allows granularities only on time columns of type date or timestamp', () => {
    const message = 'granularities apply only to role "time" columns of type date or timestamp';
    for (const type of ['date', 'timestamp']) {
      expect(ColumnDefinition.parse(column({ type, role: 'time', granularities: ['year'] })).granularities).toEqual(['year']);
      expect(refusal(ColumnDefinition, column({ type, role: 'dimension', granularities: ['year'] }))).toEqual({ code: 'VALIDATION_FAILED', path: 'datasets[0].granularities', message });
    }
    expect(refusal(ColumnDefinition, column({ type: 'integer', role: 'time', granularities: ['year'] }))).toEqual({ code: 'VALIDATION_FAILED', path: 'datasets[0].granularities', message });
    // Without a list, any column may be a time column.
    expect(ColumnDefinition.parse(column({ type: 'integer', role: 'time' })).role).toBe('time');
  });

  it('lets a dataset be versioned by its counters and schedule', () => {
    const versioned = DatasetDefinition.parse(dataset({ primaryKey: ['msa'], versioning: { schedule: '0 * * * *', counters: { units: 'count(*)' } } }));
    expect(versioned.versioning).toEqual({ schedule: '0 * * * *', counters: { units: 'count(*)' } });
    expect(versioned.primaryKey).toEqual(['msa']);
    expect(refusal(DatasetDefinition, dataset({ versioning: { retain: 3 } }))).toMatchObject({ path: 'datasets[0].versioning' });
  });
});

describe('what a column allows', () => {
  const col = (type: string, role: string, extra: Record<string, unknown> = {}) => ColumnDefinition.parse({ name: 'c', type, role, ...extra });

  it('gives numeric measures every aggregate and everything else Count, CountDistinct, Min and Max', () => {
    for (const type of ['integer', 'bigint', 'double', 'decimal']) expect(allowedAggregates(col(type, 'measure'))).toEqual(['Avg', 'Sum', 'Min', 'Max', 'Count', 'CountDistinct', 'Median']);
    for (const [type, role] of [['integer', 'dimension'], ['string', 'measure'], ['boolean', 'measure'], ['date', 'time'], ['double', 'time']]) {
      expect(allowedAggregates(col(type!, role!))).toEqual(['Count', 'CountDistinct', 'Min', 'Max']);
    }
    expect(allowedAggregates(col('double', 'measure', { aggregates: ['Median'] }))).toEqual(['Median']);
    expect(allowedAggregates(col('string', 'dimension', { aggregates: [] }))).toEqual([]);
  });

  it('gives date and timestamp time columns every granularity unless narrowed, and other columns none', () => {
    expect(allowedGranularities(col('date', 'time'))).toEqual(['week', 'month', 'quarter', 'year']);
    expect(allowedGranularities(col('timestamp', 'time'))).toEqual(['week', 'month', 'quarter', 'year']);
    expect(allowedGranularities(col('timestamp', 'time', { granularities: ['month'] }))).toEqual(['month']);
    expect(allowedGranularities(col('date', 'dimension'))).toEqual([]);
    expect(allowedGranularities(col('timestamp', 'measure'))).toEqual([]);
    expect(allowedGranularities(col('integer', 'time'))).toEqual([]);
    expect(allowedGranularities(col('string', 'time'))).toEqual([]);
  });

  it.each([
    ['integer', undefined, 'integer'],
    ['integer', 'Min', 'integer'],
    ['date', 'Max', 'date'],
    ['integer', 'Avg', 'double'],
    ['decimal', 'Median', 'double'],
    ['string', 'Count', 'bigint'],
    ['date', 'CountDistinct', 'bigint'],
    ['integer', 'Sum', 'bigint'],
    ['bigint', 'Sum', 'bigint'],
    ['double', 'Sum', 'double'],
    ['decimal', 'Sum', 'decimal'],
  ] as const)('types %s under %s as %s', (type, aggregate, out) => {
    expect(aggregateOutputType(type, aggregate)).toBe(out);
  });
});

describe('createCatalog', () => {
  const other = DatasetDefinition.parse({ key: 'leases', relation: { table: 'leases' }, columns: [{ name: 'id', type: 'string', role: 'dimension' }] });

  it('defaults to the first dataset and finds datasets by key', () => {
    const both = createCatalog([rentals, other]);
    expect(both.defaultKey).toBe('rentals');
    expect(both.list()).toEqual([rentals, other]);
    expect(both.get('leases')).toBe(other);
    expect(both.get('rentals')).toBe(rentals);
    expect(both.get('nope')).toBeUndefined();
    expect(createCatalog([rentals, other], 'leases').defaultKey).toBe('leases');
  });

  it('refuses an empty catalog and a default that is not in it, as config errors', () => {
    expect(() => createCatalog([])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: 'the catalog needs at least one dataset', path: ['datasets'] }));
    expect(() => createCatalog([rentals], 'leases')).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: 'default dataset "leases" is not in the catalog', path: ['defaultDataset'] }),
    );
  });
});
