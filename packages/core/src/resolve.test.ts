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

function refusal(query: unknown, on = catalog): { code: string; path?: string; message: string } {
  try {
    resolveQuery(on, parseOrThrow(DatasetQuery, query, { basePath: ['dataset'] }), ['dataset']);
  } catch (err) {
    if (err instanceof FerryError) return { code: err.code, path: err.path && formatPath(err.path), message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}
const resolve = (query: unknown) => resolveQuery(catalog, DatasetQuery.parse(query), ['dataset']);
const col = (name: string) => rentals.columns.find((c) => c.name === name)!;

describe('resolving datasets, columns and limits', () => {
  const withPrivate = createCatalog([
    rentals,
    DatasetDefinition.parse({
      key: 'units',
      relation: { table: 'units' },
      columns: [
        { name: 'msa', type: 'string', role: 'dimension' },
        { name: 'unit_number', type: 'string', role: 'dimension', exportable: false },
      ],
    }),
  ]);

  it('reads the named dataset, or the catalog’s default', () => {
    expect(resolveQuery(withPrivate, DatasetQuery.parse({ scopes })).dataset.key).toBe('rentals');
    expect(resolveQuery(withPrivate, DatasetQuery.parse({ from: 'units', scopes })).dataset.key).toBe('units');
    expect(refusal({ from: 'leases', scopes }, withPrivate)).toEqual({ code: 'UNKNOWN_DATASET', path: 'dataset.from', message: 'unknown dataset "leases"' });
  });

  it('names the dataset and column that do not exist', () => {
    expect(refusal({ scopes: [{ column: 'rent' }] })).toEqual({ code: 'UNKNOWN_COLUMN', path: 'dataset.scopes[0].column', message: 'dataset "rentals" has no column "rent"' });
    expect(refusal({ scopes, filters: [{ column: 'rent', filter: { gt: 1 } }] })).toEqual({
      code: 'UNKNOWN_COLUMN',
      path: 'dataset.filters[0].column',
      message: 'dataset "rentals" has no column "rent"',
    });
  });

  it('refuses a private column as an output and as a filter', () => {
    const from = 'units';
    expect(refusal({ from, scopes: [{ column: 'unit_number', aggregate: 'Count' }] }, withPrivate)).toEqual({
      code: 'COLUMN_NOT_EXPORTABLE',
      path: 'dataset.scopes[0].column',
      message: 'column "unit_number" cannot be exported',
    });
    expect(refusal({ from, scopes, filters: [{ or: [{ column: 'unit_number', filter: { equals: '4B' } }] }] }, withPrivate)).toEqual({
      code: 'COLUMN_NOT_EXPORTABLE',
      path: 'dataset.filters[0].or[0].column',
      message: 'column "unit_number" cannot be exported',
    });
  });

  it('defaults the limit to the dataset’s maximum and allows exactly that many rows', () => {
    expect(resolve({ scopes }).limit).toBe(50_000);
    expect(resolve({ scopes, limit: 50_000 }).limit).toBe(50_000);
    expect(resolve({ scopes, limit: 1 }).limit).toBe(1);
    expect(refusal({ scopes, limit: 50_001 })).toEqual({ code: 'LIMIT_EXCEEDED', path: 'dataset.limit', message: "limit 50001 exceeds the dataset's maximum of 50000 rows" });
  });

  it('reports paths from the root when no base path is given', () => {
    expect(() => resolveQuery(catalog, DatasetQuery.parse({ scopes: [{ column: 'rent' }] }))).toThrow(expect.objectContaining({ path: ['scopes', 0, 'column'] }));
  });
});

describe('resolving outputs', () => {
  it('describes each output exactly: name, column, aggregate or granularity, and type', () => {
    const resolved = resolve({ scopes: [{ column: 'msa' }, { column: 'seen_at', granularity: 'month' }, { column: 'price', aggregate: 'Sum', alias: 'total' }] });
    expect(resolved.outputs).toStrictEqual([
      { name: 'msa', column: col('msa'), type: 'string' },
      { name: 'seen_at_month', column: col('seen_at'), granularity: 'month', type: 'date' },
      { name: 'total', column: col('price'), aggregate: 'Sum', type: 'decimal' },
    ]);
    expect(resolved.aggregated).toBe(true);
    expect(resolve({ scopes: [{ column: 'msa' }, { column: 'as_of_week', granularity: 'week' }] }).aggregated).toBe(false);
  });

  it('says which granularities a time column allows, and that other columns allow none', () => {
    expect(refusal({ scopes: [{ column: 'seen_at', granularity: 'quarter' }] })).toEqual({
      code: 'GRANULARITY_NOT_ALLOWED',
      path: 'dataset.scopes[0].granularity',
      message: 'granularity quarter is not allowed on "seen_at" (allowed: month, year)',
    });
    expect(refusal({ scopes: [{ column: 'bed', granularity: 'year' }] })).toEqual({
      code: 'GRANULARITY_NOT_ALLOWED',
      path: 'dataset.scopes[0].granularity',
      message: '"bed" is not a time column; granularity applies only to time columns',
    });
  });

  it('refuses two outputs of one name, ignoring case, at the scope or its alias', () => {
    expect(refusal({ scopes: [{ column: 'asking_rent', aggregate: 'Avg' }, { column: 'asking_rent', aggregate: 'Avg' }] })).toEqual({
      code: 'VALIDATION_FAILED',
      path: 'dataset.scopes[1]',
      message: 'output column "avg_asking_rent" appears twice; give one scope another alias',
    });
    expect(refusal({ scopes: [{ column: 'bed', alias: 'Rooms' }, { column: 'msa', alias: 'rooms' }] })).toEqual({
      code: 'VALIDATION_FAILED',
      path: 'dataset.scopes[1].alias',
      message: 'output column "rooms" appears twice; give one scope another alias',
    });
    expect(resolve({ scopes: [{ column: 'asking_rent', aggregate: 'Avg' }, { column: 'asking_rent', aggregate: 'Max' }] }).outputs.map((o) => o.name)).toEqual([
      'avg_asking_rent',
      'max_asking_rent',
    ]);
  });
});

describe('resolving filters', () => {
  it('gives no WHERE and no HAVING without filters', () => {
    const resolved = resolve({ scopes });
    expect([resolved.where, resolved.having]).toEqual([null, null]);
    expect(resolve({ scopes, filters: [] }).where).toBeNull();
  });

  it('resolves a single row filter to the comparison itself, with its type and path', () => {
    const resolved = resolve({ scopes, filters: [{ column: 'bed', filter: { in: [1, 2] } }] });
    expect(resolved.where).toStrictEqual({ kind: 'compare', column: col('bed'), type: 'integer', operator: 'in', operand: [1, 2], path: ['dataset', 'filters', 0, 'filter', 'in'] });
    expect(resolved.having).toBeNull();
  });

  it('resolves an aggregate filter to HAVING, typed as the aggregate’s result', () => {
    const resolved = resolve({ scopes: [{ column: 'msa' }, { column: 'price', aggregate: 'Sum' }], filters: [{ column: 'price', aggregate: 'Avg', filter: { gte: 1.5 } }] });
    expect(resolved.having).toStrictEqual({
      kind: 'compare',
      column: col('price'),
      aggregate: 'Avg',
      type: 'double',
      operator: 'gte',
      operand: 1.5,
      path: ['dataset', 'filters', 0, 'filter', 'gte'],
    });
    expect(resolved.where).toBeNull();
  });

  it('keeps groups with their kind, and sends a group of aggregate filters to HAVING', () => {
    const agg = (gt: number) => ({ column: 'asking_rent', aggregate: 'Max', filter: { gt } });
    const resolved = resolve({
      scopes: [{ column: 'msa' }, { column: 'asking_rent', aggregate: 'Max' }],
      filters: [
        { or: [{ column: 'bed', filter: { equals: 1 } }, { column: 'bed', filter: { equals: 2 } }] },
        { and: [{ or: [agg(1), agg(2)] }, agg(3)] },
      ],
    });
    expect(resolved.where).toMatchObject({ kind: 'or', items: [{ kind: 'compare', operand: 1 }, { kind: 'compare', operand: 2 }] });
    expect(resolved.having).toMatchObject({ kind: 'and', items: [{ kind: 'or', items: [{ operand: 1 }, { operand: 2 }] }, { operand: 3, aggregate: 'Max' }] });
    expect((resolved.having as { items: Array<{ items?: Array<{ path: unknown }> }> }).items[0]!.items![1]!.path).toEqual(['dataset', 'filters', 1, 'and', 0, 'or', 1, 'filter', 'gt']);
  });

  it('refuses a group that mixes the two, even one level down', () => {
    const query = {
      scopes: [{ column: 'msa' }, { column: 'bed', aggregate: 'Count' }],
      filters: [{ and: [{ or: [{ column: 'bed', aggregate: 'Count', filter: { gt: 1 } }] }, { column: 'bed', filter: { gt: 1 } }] }],
    };
    expect(refusal(query)).toEqual({ code: 'VALIDATION_FAILED', path: 'dataset.filters[0].and', message: 'a group cannot mix filters on aggregates with filters on rows' });
  });

  it('refuses an aggregate filter where nothing is aggregated, saying why', () => {
    expect(refusal({ scopes, filters: [{ column: 'msa', aggregate: 'Count', filter: { gt: 1 } }] })).toEqual({
      code: 'VALIDATION_FAILED',
      path: 'dataset.filters[0].aggregate',
      message: 'a filter on an aggregate needs a query with an aggregate scope (it applies after grouping)',
    });
  });

  it('applies text operators only to text, naming the column or aggregate', () => {
    for (const operator of ['contains', 'notContains', 'startsWith', 'endsWith']) {
      expect(resolve({ scopes, filters: [{ column: 'msa', filter: { [operator]: 'S' } }] }).where).toMatchObject({ operator, type: 'string' });
      expect(refusal({ scopes, filters: [{ column: 'bed', filter: { [operator]: '1' } }] })).toEqual({
        code: 'TYPE_MISMATCH',
        path: `dataset.filters[0].filter.${operator}`,
        message: `${operator} applies to text; column "bed" is integer`,
      });
    }
    const counted = { scopes: [{ column: 'msa', aggregate: 'Count' }] };
    expect(refusal({ ...counted, filters: [{ column: 'msa', aggregate: 'Count', filter: { startsWith: '1' } }] })).toMatchObject({
      code: 'TYPE_MISMATCH',
      message: 'startsWith applies to text; Count of "msa" is bigint',
    });
    // The smallest market name is still text.
    expect(resolve({ ...counted, filters: [{ column: 'msa', aggregate: 'Min', filter: { startsWith: 'S' } }] }).having).toMatchObject({ type: 'string' });
  });

  it('refuses order comparisons on booleans, but not equality or null checks', () => {
    for (const [operator, operand] of [['gt', true], ['gte', true], ['lt', false], ['lte', false], ['between', [false, true]]] as const) {
      expect(refusal({ scopes, filters: [{ column: 'furnished', filter: { [operator]: operand } }] })).toEqual({
        code: 'TYPE_MISMATCH',
        path: `dataset.filters[0].filter.${operator}`,
        message: `${operator} does not apply to booleans (column "furnished")`,
      });
    }
    for (const filter of [{ equals: true }, { notEquals: false }, { in: [true] }, { notIn: [false] }, { isNull: true }]) {
      expect(resolve({ scopes, filters: [{ column: 'furnished', filter }] }).where).toMatchObject({ type: 'boolean', operand: Object.values(filter)[0] });
    }
  });

  it('checks null tests on any column without typing the operand', () => {
    for (const column of ['msa', 'bed', 'price', 'as_of_week', 'seen_at']) expect(resolve({ scopes, filters: [{ column, filter: { isNull: false } }] }).where).toMatchObject({ operator: 'isNull', operand: false });
  });

  it('checks every value of a list at its index, and a between’s order in the column’s type', () => {
    expect(refusal({ scopes, filters: [{ column: 'bed', filter: { notIn: [1, 2, 'three'] } }] })).toEqual({
      code: 'TYPE_MISMATCH',
      path: 'dataset.filters[0].filter.notIn[2]',
      message: '"three" is not a valid integer for column "bed"',
    });
    expect(refusal({ scopes, filters: [{ column: 'bed', filter: { between: ['one', 2] } }] })).toMatchObject({ path: 'dataset.filters[0].filter.between[0]' });
    expect(refusal({ scopes, filters: [{ column: 'bed', filter: { between: [3, 2] } }] })).toEqual({
      code: 'VALIDATION_FAILED',
      path: 'dataset.filters[0].filter.between',
      message: 'between needs low <= high, got [3,2]',
    });
    expect(resolve({ scopes, filters: [{ column: 'bed', filter: { between: [2, 2] } }] }).where).toMatchObject({ operand: [2, 2] });
    // As decimals 10.5 > 9.75; as text "10.5" < "9.75".
    expect(resolve({ scopes, filters: [{ column: 'price', filter: { between: ['9.75', '10.5'] } }] }).where).toMatchObject({ operand: ['9.75', '10.5'] });
    expect(resolve({ scopes, filters: [{ column: 'price', filter: { between: [1e21, 2e21] } }] }).where).toMatchObject({ operand: [1e21, 2e21] });
    expect(refusal({ scopes, filters: [{ column: 'price', filter: { between: [2e21, 1e21] } }] })).toMatchObject({ code: 'VALIDATION_FAILED', path: 'dataset.filters[0].filter.between' });
  });

  it('refuses a day the calendar does not have, before any database sees it', () => {
    expect(refusal({ scopes, filters: [{ column: 'as_of_week', filter: { equals: '2023-02-29' } }] })).toEqual({
      code: 'TYPE_MISMATCH',
      path: 'dataset.filters[0].filter.equals',
      message: '"2023-02-29" is not a valid date for column "as_of_week"',
    });
    expect(refusal({ scopes, filters: [{ column: 'seen_at', filter: { gte: '2024-04-31T00:00:00Z' } }] })).toMatchObject({ code: 'TYPE_MISMATCH', path: 'dataset.filters[0].filter.gte' });
  });
});

describe('resolving the order', () => {
  const scoped = { scopes: [{ column: 'msa' }, { column: 'bed', alias: 'rooms' }, { column: 'asking_rent', aggregate: 'Avg' }] };

  it('gives no order at all for orderBy null', () => {
    expect(resolve({ ...scoped, orderBy: null }).orderBy).toEqual([]);
  });

  it('orders by the requested outputs first, then every other output ascending', () => {
    expect(resolve({ ...scoped, orderBy: [{ column: 'rooms', direction: 'desc' }, { column: 'msa' }] }).orderBy).toEqual([
      { output: 1, direction: 'desc' },
      { output: 0, direction: 'asc' },
      { output: 2, direction: 'asc' },
    ]);
    expect(resolve({ ...scoped, orderBy: [] }).orderBy).toEqual([0, 1, 2].map((output) => ({ output, direction: 'asc' })));
  });

  it('accepts the column of exactly one scope for its output, but an output name first', () => {
    expect(resolve({ ...scoped, orderBy: [{ column: 'asking_rent', direction: 'desc' }] }).orderBy[0]).toEqual({ output: 2, direction: 'desc' });
    expect(resolve({ ...scoped, orderBy: [{ column: 'bed' }] }).orderBy[0]).toEqual({ output: 1, direction: 'asc' });
    // "msa" is the name of output 1 and the column of output 0: the name wins.
    const swapped = resolve({ scopes: [{ column: 'msa', alias: 'market' }, { column: 'bed', alias: 'msa' }], orderBy: [{ column: 'msa', direction: 'desc' }] });
    expect(swapped.orderBy).toEqual([
      { output: 1, direction: 'desc' },
      { output: 0, direction: 'asc' },
    ]);
  });

  it('refuses a column that names no single output, listing the outputs', () => {
    const twice = { scopes: [{ column: 'asking_rent', aggregate: 'Avg' }, { column: 'asking_rent', aggregate: 'Max' }] };
    expect(refusal({ ...twice, orderBy: [{ column: 'asking_rent' }] })).toEqual({
      code: 'UNKNOWN_COLUMN',
      path: 'dataset.orderBy[0].column',
      message: 'orderBy must name an output column (avg_asking_rent, max_asking_rent), got "asking_rent"',
    });
  });

  it('refuses ordering one output twice, even under two names', () => {
    expect(refusal({ ...scoped, orderBy: [{ column: 'avg_asking_rent' }, { column: 'asking_rent', direction: 'desc' }] })).toEqual({
      code: 'VALIDATION_FAILED',
      path: 'dataset.orderBy[1]',
      message: 'output "avg_asking_rent" is ordered twice',
    });
  });
});
