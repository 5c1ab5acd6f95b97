import { describe, expect, it } from 'vitest';
import { DatasetDefinition, createCatalog, resolveQuery } from './catalog.js';
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
