import { describe, expect, it } from 'vitest';
import { DatasetDefinition, createCatalog, resolveQuery } from './catalog.js';
import { DatasetQuery, MAX_FILTER_DEPTH } from './query.js';
import { FerryError, formatPath } from './errors.js';
import { parseOrThrow } from './validate.js';

const rentals = DatasetDefinition.parse({
  key: 'rentals',
  relation: { table: 'rentals' },
  columns: [
    { name: 'msa', type: 'string', role: 'dimension' },
    { name: 'bed', type: 'integer', role: 'dimension' },
    { name: 'asking_rent', type: 'double', role: 'measure' },
    { name: 'price', type: 'decimal', role: 'measure' },
    { name: 'furnished', type: 'boolean', role: 'dimension' },
    { name: 'as_of_week', type: 'date', role: 'time' },
    { name: 'seen_at', type: 'timestamp', role: 'time', granularities: ['month', 'year'] },
  ],
  limits: { maxRows: 50_000 },
});
const catalog = createCatalog([rentals]);

function check(query: unknown): { code: string; path?: string } {
  try {
    resolveQuery(catalog, parseOrThrow(DatasetQuery, query, { basePath: ['dataset'] }), ['dataset']);
  } catch (err) {
    if (err instanceof FerryError) return { code: err.code, path: err.path && formatPath(err.path) };
    throw err;
  }
  return { code: 'OK' };
}
const scopes = [{ column: 'msa' }];

describe('the query grammar', () => {
  it('names outputs by alias or default, in scope order, and types them', () => {
    const resolved = resolveQuery(
      catalog,
      DatasetQuery.parse({
        scopes: [
          { column: 'as_of_week', granularity: 'month' },
          { column: 'msa', alias: 'market' },
          { column: 'asking_rent', aggregate: 'Avg' },
          { column: 'msa', aggregate: 'CountDistinct' },
        ],
      }),
    );
    expect(resolved.outputs.map((o) => `${o.name}:${o.type}`)).toEqual(['as_of_week_month:date', 'market:string', 'avg_asking_rent:double', 'count_distinct_msa:bigint']);
    expect(resolved.aggregated).toBe(true);
    expect(resolved.orderBy).toEqual([0, 1, 2, 3].map((output) => ({ output, direction: 'asc' })));
  });

  it('accepts every operator with typed values, and splits WHERE from HAVING', () => {
    const query = {
      scopes: [{ column: 'msa' }, { column: 'asking_rent', aggregate: 'Avg' }],
      filters: [
        { column: 'msa', filter: { notEquals: 'x' } },
        { column: 'bed', filter: { notIn: [1, 2] } },
        { column: 'asking_rent', filter: { between: [1000, 2000.5] } },
        { column: 'price', filter: { gte: '10.50' } },
        { column: 'as_of_week', filter: { lt: '2024-01-01' } },
        { column: 'seen_at', filter: { lte: '2024-01-01T00:00:00Z' } },
        { column: 'msa', filter: { contains: '%_' } },
        { column: 'msa', filter: { notContains: 'a' } },
        { column: 'msa', filter: { startsWith: 'S' } },
        { column: 'msa', filter: { endsWith: 'A' } },
        { column: 'furnished', filter: { isNull: false } },
        { or: [{ column: 'bed', filter: { gt: 1 } }, { and: [{ column: 'bed', filter: { equals: 0 } }] }] },
        { column: 'asking_rent', aggregate: 'Avg', filter: { gt: 1500 } },
        { column: 'msa', aggregate: 'Count', filter: { gte: 3 } },
      ],
      orderBy: [{ column: 'avg_asking_rent', direction: 'desc' }],
    };
    expect(check(query)).toEqual({ code: 'OK' });
    const resolved = resolveQuery(catalog, DatasetQuery.parse(query));
    expect(resolved.where).toMatchObject({ kind: 'and' });
    expect(resolved.having).toMatchObject({ kind: 'and', items: [{ aggregate: 'Avg' }, { aggregate: 'Count', type: 'bigint' }] });
    expect(resolved.orderBy).toEqual([{ output: 1, direction: 'desc' }, { output: 0, direction: 'asc' }]);
  });

  it('keeps the v1 seed shape unchanged', () => {
    const seed = { scopes: [{ column: 'msa' }, { column: 'asking_rent', aggregate: 'Avg' }], filters: [{ column: 'msa', filter: { equals: 'Seattle, WA' } }, { column: 'bed', filter: { in: [1, 2, 3] } }], limit: 10000 };
    expect(DatasetQuery.parse(seed)).toEqual(seed);
  });

  it.each([
    ['granularity on a non-time column', { scopes: [{ column: 'msa', granularity: 'month' }] }, 'GRANULARITY_NOT_ALLOWED', 'dataset.scopes[0].granularity'],
    ['a granularity the column does not allow', { scopes: [{ column: 'seen_at', granularity: 'week' }] }, 'GRANULARITY_NOT_ALLOWED', 'dataset.scopes[0].granularity'],
    ['day granularity (finer than week)', { scopes: [{ column: 'as_of_week', granularity: 'day' }] }, 'VALIDATION_FAILED', 'dataset.scopes[0].granularity'],
    ['aggregate and granularity together', { scopes: [{ column: 'as_of_week', granularity: 'month', aggregate: 'Min' }] }, 'VALIDATION_FAILED', 'dataset.scopes[0].granularity'],
    ['an alias that is not an identifier', { scopes: [{ column: 'msa', alias: 'a"; DROP TABLE x; --' }] }, 'VALIDATION_FAILED', 'dataset.scopes[0].alias'],
    ['an alias colliding with a default name', { scopes: [{ column: 'msa' }, { column: 'bed', alias: 'MSA' }] }, 'VALIDATION_FAILED', 'dataset.scopes[1].alias'],
    ['an aggregate filter in a non-aggregated query', { scopes, filters: [{ column: 'bed', aggregate: 'Count', filter: { gt: 1 } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].aggregate'],
    ['an aggregate filter with a disallowed aggregate', { scopes: [{ column: 'bed', aggregate: 'Count' }], filters: [{ column: 'msa', aggregate: 'Avg', filter: { gt: 1 } }] }, 'AGGREGATE_NOT_ALLOWED', 'dataset.filters[0].aggregate'],
    ['a group mixing row and aggregate filters', { scopes: [{ column: 'bed', aggregate: 'Count' }], filters: [{ or: [{ column: 'bed', filter: { gt: 1 } }, { column: 'bed', aggregate: 'Count', filter: { gt: 1 } }] }] }, 'VALIDATION_FAILED', 'dataset.filters[0].or'],
    ['an empty in', { scopes, filters: [{ column: 'bed', filter: { in: [] } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].filter.in'],
    ['an empty notIn', { scopes, filters: [{ column: 'bed', filter: { notIn: [] } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].filter.notIn'],
    ['between with one value', { scopes, filters: [{ column: 'bed', filter: { between: [1] } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].filter.between'],
    ['between with low > high', { scopes, filters: [{ column: 'price', filter: { between: ['10.5', 2] } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].filter.between'],
    ['between dates reversed', { scopes, filters: [{ column: 'as_of_week', filter: { between: ['2024-02-01', '2024-01-31'] } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].filter.between'],
    ['a mistyped between bound', { scopes, filters: [{ column: 'bed', filter: { between: [1, 'x'] } }] }, 'TYPE_MISMATCH', 'dataset.filters[0].filter.between[1]'],
    ['contains on a number', { scopes, filters: [{ column: 'bed', filter: { contains: '1' } }] }, 'TYPE_MISMATCH', 'dataset.filters[0].filter.contains'],
    ['gt on a boolean', { scopes, filters: [{ column: 'furnished', filter: { gt: true } }] }, 'TYPE_MISMATCH', 'dataset.filters[0].filter.gt'],
    ['isNull with a non-boolean', { scopes, filters: [{ column: 'msa', filter: { isNull: 'yes' } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].filter.isNull'],
    ['two operators in one filter', { scopes, filters: [{ column: 'bed', filter: { gt: 1, lt: 3 } }] }, 'VALIDATION_FAILED', 'dataset.filters[0].filter'],
    ['an unknown column in a nested group', { scopes, filters: [{ and: [{ or: [{ column: 'nope', filter: { equals: 1 } }] }] }] }, 'UNKNOWN_COLUMN', 'dataset.filters[0].and[0].or[0].column'],
    ['a mistyped value in a nested group', { scopes, filters: [{ or: [{ column: 'bed', filter: { equals: 'two' } }] }] }, 'TYPE_MISMATCH', 'dataset.filters[0].or[0].filter.equals'],
    ['a node with both a column and a group', { scopes, filters: [{ column: 'bed', filter: { equals: 1 }, or: [] }] }, 'VALIDATION_FAILED', 'dataset.filters[0].or'],
    ['an empty group', { scopes, filters: [{ and: [] }] }, 'VALIDATION_FAILED', 'dataset.filters[0].and'],
    ['an aggregate filter value of the wrong type', { scopes: [{ column: 'bed', aggregate: 'Count' }], filters: [{ column: 'bed', aggregate: 'Count', filter: { gt: 1.5 } }] }, 'TYPE_MISMATCH', 'dataset.filters[0].filter.gt'],
    ['orderBy an unknown output', { scopes, orderBy: [{ column: 'bed' }] }, 'UNKNOWN_COLUMN', 'dataset.orderBy[0].column'],
    ['orderBy the same output twice', { scopes, orderBy: [{ column: 'msa' }, { column: 'msa', direction: 'desc' }] }, 'VALIDATION_FAILED', 'dataset.orderBy[1]'],
    ['orderBy a bad direction', { scopes, orderBy: [{ column: 'msa', direction: 'up' }] }, 'VALIDATION_FAILED', 'dataset.orderBy[0].direction'],
  ])('refuses %s', (_name, query, code, path) => {
    expect(check(query)).toEqual({ code, path });
  });

  it('bounds the nesting depth before recursing', () => {
    let node: unknown = { column: 'bed', filter: { equals: 1 } };
    for (let i = 0; i < 10_000; i++) node = { and: [node] };
    const result = check({ scopes, filters: [node] });
    expect(result.code).toBe('VALIDATION_FAILED');
    expect(result.path).toBe(`dataset.filters${'[0].and'.repeat(MAX_FILTER_DEPTH)}`);
    let ok: unknown = { column: 'bed', filter: { equals: 1 } };
    for (let i = 0; i < MAX_FILTER_DEPTH - 1; i++) ok = { or: [ok] };
    expect(check({ scopes, filters: [ok] })).toEqual({ code: 'OK' });
  });

  it('refuses granularities on non-time columns in the catalog', () => {
    expect(() => DatasetDefinition.parse({ ...rentals, columns: [{ name: 'msa', type: 'string', role: 'dimension', granularities: ['month'] }] })).toThrow();
  });
});

describe('AGGREGATE_NOT_ALLOWED', () => {
  const message = (query: unknown): string => {
    try {
      resolveQuery(catalog, parseOrThrow(DatasetQuery, query));
    } catch (err) {
      if (err instanceof FerryError && err.code === 'AGGREGATE_NOT_ALLOWED') return err.message;
      throw err;
    }
    throw new Error('expected AGGREGATE_NOT_ALLOWED');
  };

  it('lists the aggregates the column allows, in scopes and in aggregate filters', () => {
    expect(message({ scopes: [{ column: 'msa', aggregate: 'Avg' }] })).toBe('aggregate Avg is not allowed on "msa" (allowed: Count, CountDistinct, Min, Max)');
    expect(message({ scopes: [{ column: 'bed', aggregate: 'Count' }], filters: [{ column: 'msa', aggregate: 'Sum', filter: { gt: 1 } }] })).toContain(
      '(allowed: Count, CountDistinct, Min, Max)',
    );
  });

  it('uses the catalog’s own list when the column narrows it, and says so when it allows none', () => {
    const narrowed = createCatalog([
      DatasetDefinition.parse({
        key: 'rents',
        relation: { table: 'rents' },
        columns: [
          { name: 'rent', type: 'double', role: 'measure', aggregates: ['Avg', 'Median'] },
          { name: 'unit', type: 'string', role: 'dimension', aggregates: [] },
        ],
      }),
    ]);
    const refuse = (scope: unknown) => {
      try {
        resolveQuery(narrowed, DatasetQuery.parse({ scopes: [scope] }));
      } catch (err) {
        if (err instanceof FerryError) return err.message;
      }
      throw new Error('expected a refusal');
    };
    expect(refuse({ column: 'rent', aggregate: 'Sum' })).toBe('aggregate Sum is not allowed on "rent" (allowed: Avg, Median)');
    expect(refuse({ column: 'unit', aggregate: 'Count' })).toMatch(/^"unit" allows no aggregate/);
  });
});
