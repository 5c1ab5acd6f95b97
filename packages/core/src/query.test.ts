import { describe, expect, it } from 'vitest';
import {
  Aggregate,
  Alias,
  DatasetQuery,
  Filter,
  FilterOp,
  FilterValue,
  Granularity,
  MAX_FILTER_DEPTH,
  OrderBy,
  Scope,
  filterOperator,
  isFilterGroup,
  scopeOutputName,
  type FilterNode,
} from './query.js';
import { refusal } from './test-support/refusal.js';


const leaf = { column: 'bed', filter: { equals: 1 } };
const query = (extra: Record<string, unknown>) => ({ scopes: [{ column: 'msa' }], ...extra });
const tooBig = (max: number, what: 'string' | 'array', unit: 'characters' | 'items') => `Too big: expected ${what} to have <=${max} ${unit}`;

describe('query vocabulary', () => {
  it('names the aggregates and granularities in the order clients see them listed', () => {
    expect(Aggregate.options).toEqual(['Avg', 'Sum', 'Min', 'Max', 'Count', 'CountDistinct', 'Median']);
    // Week is the finest bucket: there is no day-level data.
    expect(Granularity.options).toEqual(['week', 'month', 'quarter', 'year']);
    expect(MAX_FILTER_DEPTH).toBe(8);
  });

  it('accepts strings up to 4096 characters, numbers and booleans as filter values, and nothing else', () => {
    for (const value of ['', 'x'.repeat(4096), 0, -1.5, true, false]) expect(FilterValue.parse(value)).toBe(value);
    expect(refusal(FilterValue, 'x'.repeat(4097))).toEqual({ path: '', message: tooBig(4096, 'string', 'characters') });
    for (const value of [null, undefined, [1], { a: 1 }]) expect(FilterValue.safeParse(value).success).toBe(false);
  });
});

describe('aliases', () => {
  it.each(['a', 'A', '_', '_a1', 'Rent_2024', 'a'.repeat(63)])('accepts %j', (alias) => {
    expect(Alias.parse(alias)).toBe(alias);
  });

  it('refuses more than 63 characters, PostgreSQL’s identifier limit', () => {
    expect(refusal(Alias, 'a'.repeat(64))).toEqual({ path: '', message: 'an alias has at most 63 characters' });
  });

  it.each(['', '1a', 'a-b', 'a b', 'a"', 'é', 'rent$'])('refuses %j, which is not an identifier', (alias) => {
    expect(refusal(Alias, alias)).toEqual({ path: '', message: 'an alias starts with a letter or _ and holds only letters, digits and _' });
  });
});

describe('scopes', () => {
  it('accepts a column with an aggregate, a granularity or an alias', () => {
    expect(Scope.parse({ column: 'rent', aggregate: 'Median', alias: 'mid' })).toEqual({ column: 'rent', aggregate: 'Median', alias: 'mid' });
    expect(Scope.parse({ column: 'week', granularity: 'quarter' })).toEqual({ column: 'week', granularity: 'quarter' });
    expect(Scope.parse({ column: 'c'.repeat(128) })).toEqual({ column: 'c'.repeat(128) });
  });

  it('refuses an aggregate and a granularity together, at the granularity', () => {
    expect(refusal(Scope, { column: 'week', aggregate: 'Min', granularity: 'week' })).toEqual({
      path: 'granularity',
      message: 'a scope takes an aggregate or a granularity, not both',
    });
  });

  it('bounds column names to 1..128 characters and refuses unknown fields', () => {
    expect(refusal(Scope, { column: '' })).toEqual({ path: 'column', message: 'Too small: expected string to have >=1 characters' });
    expect(refusal(Scope, { column: 'c'.repeat(129) })).toEqual({ path: 'column', message: tooBig(128, 'string', 'characters') });
    expect(refusal(Scope, { column: 'a', sort: 'asc' })).toEqual({ path: '', message: 'unknown field(s): sort' });
    expect(refusal(Scope, { column: 'a', aggregate: 'avg' })).toMatchObject({ path: 'aggregate' });
  });
});

describe('filter operators', () => {
  it.each([
    ['equals', 'x'],
    ['notEquals', 2],
    ['in', [1, 'a', true]],
    ['notIn', ['a']],
    ['gt', 1],
    ['gte', '2024-01-01'],
    ['lt', 1.5],
    ['lte', -3],
    ['between', [1, 2]],
    ['contains', '%'],
    ['notContains', 'x'],
    ['startsWith', 'S'],
    ['endsWith', 'A'],
    ['isNull', true],
  ])('accepts %s and names it as the operator', (operator, operand) => {
    const op = FilterOp.parse({ [operator]: operand });
    expect(op).toEqual({ [operator]: operand });
    expect(filterOperator(op)).toEqual({ operator, operand });
  });

  it('hands back a false or zero operand as it is', () => {
    expect(filterOperator(FilterOp.parse({ isNull: false }))).toEqual({ operator: 'isNull', operand: false });
    expect(filterOperator(FilterOp.parse({ equals: 0 }))).toEqual({ operator: 'equals', operand: 0 });
  });

  it('takes exactly one operator', () => {
    expect(refusal(FilterOp, {})).toEqual({ path: '', message: 'a filter takes exactly one operator' });
    expect(refusal(FilterOp, { gt: 1, lt: 3 })).toEqual({ path: '', message: 'a filter takes exactly one operator' });
    expect(refusal(FilterOp, { like: '%' })).toEqual({ path: '', message: 'unknown field(s): like' });
  });

  it('needs at least one and at most 10 000 values in a list, naming the operator', () => {
    expect(refusal(FilterOp, { in: [] })).toEqual({ path: 'in', message: 'in needs at least one value' });
    expect(refusal(FilterOp, { notIn: [] })).toEqual({ path: 'notIn', message: 'notIn needs at least one value' });
    expect(FilterOp.parse({ in: Array.from({ length: 10_000 }, (_, i) => i) }).in).toHaveLength(10_000);
    expect(refusal(FilterOp, { in: Array.from({ length: 10_001 }, (_, i) => i) })).toEqual({ path: 'in', message: tooBig(10_000, 'array', 'items') });
    expect(refusal(FilterOp, { notIn: Array.from({ length: 10_001 }, (_, i) => i) })).toEqual({ path: 'notIn', message: tooBig(10_000, 'array', 'items') });
    expect(refusal(FilterOp, { in: [1, null] })).toMatchObject({ path: 'in[1]' });
  });

  it('takes between as exactly [low, high]', () => {
    for (const bad of [[1], [1, 2, 3], 1, 'a..b']) expect(refusal(FilterOp, { between: bad })).toEqual({ path: 'between', message: 'between takes [low, high]' });
    expect(refusal(FilterOp, { between: [1, null] })).toMatchObject({ path: 'between[1]' });
  });

  it('bounds text patterns to 4096 characters and types each operand', () => {
    for (const operator of ['contains', 'notContains', 'startsWith', 'endsWith']) {
      expect(FilterOp.parse({ [operator]: 'p'.repeat(4096) })).toEqual({ [operator]: 'p'.repeat(4096) });
      expect(refusal(FilterOp, { [operator]: 'p'.repeat(4097) })).toEqual({ path: operator, message: tooBig(4096, 'string', 'characters') });
      expect(refusal(FilterOp, { [operator]: 1 })).toMatchObject({ path: operator });
    }
    for (const operator of ['equals', 'notEquals', 'gt', 'gte', 'lt', 'lte']) {
      expect(refusal(FilterOp, { [operator]: null })).toEqual({ path: operator, message: 'Invalid input' });
      expect(refusal(FilterOp, { [operator]: 'x'.repeat(4097) })).toMatchObject({ path: operator });
    }
    expect(refusal(FilterOp, { isNull: 'yes' })).toMatchObject({ path: 'isNull' });
  });
});

describe('filter nodes', () => {
  it('parses a leaf to exactly column, filter and (when given) aggregate', () => {
    expect(Object.entries(Filter.parse(leaf))).toEqual([
      ['column', 'bed'],
      ['filter', { equals: 1 }],
    ]);
    expect(Object.entries(Filter.parse({ column: 'rent', aggregate: 'Avg', filter: { gt: 1 } }))).toEqual([
      ['column', 'rent'],
      ['aggregate', 'Avg'],
      ['filter', { gt: 1 }],
    ]);
  });

  it('parses groups to exactly their one key, recursively', () => {
    const parsed = Filter.parse({ or: [leaf, { and: [leaf, { column: 'msa', filter: { isNull: true } }] }] });
    expect(parsed).toStrictEqual({ or: [{ column: 'bed', filter: { equals: 1 } }, { and: [{ column: 'bed', filter: { equals: 1 } }, { column: 'msa', filter: { isNull: true } }] }] });
    expect(Object.keys(Filter.parse({ and: [leaf] }))).toEqual(['and']);
  });

  it('tells groups from leaves', () => {
    expect(isFilterGroup({ and: [] })).toBe(true);
    expect(isFilterGroup({ or: [] })).toBe(true);
    expect(isFilterGroup(leaf as FilterNode)).toBe(false);
  });

  it.each([
    ['nothing', {}],
    ['a leaf and a group', { ...leaf, and: [leaf] }],
    ['an aggregate with a group', { aggregate: 'Avg', or: [leaf] }],
    ['two groups', { and: [leaf], or: [leaf] }],
  ])('refuses %s in one node', (_what, node) => {
    expect(refusal(Filter, node)).toEqual({ path: '', message: 'a filter is either {column, filter} or one group {and: [...]} / {or: [...]}' });
  });

  it('asks for the missing half of a leaf', () => {
    expect(refusal(Filter, { column: 'bed' })).toEqual({ path: 'filter', message: 'filter is required' });
    expect(refusal(Filter, { filter: { equals: 1 } })).toEqual({ path: 'column', message: 'column is required' });
    expect(refusal(Filter, { aggregate: 'Count' })).toEqual({ path: 'column', message: 'column is required' });
  });

  it('needs at least one filter in a group and at most 256 in any list', () => {
    expect(refusal(Filter, { and: [] })).toEqual({ path: 'and', message: 'a group needs at least one filter' });
    expect(refusal(Filter, { or: [] })).toEqual({ path: 'or', message: 'a group needs at least one filter' });
    const many = Array.from({ length: 257 }, () => leaf);
    expect(refusal(Filter, { or: many })).toEqual({ path: 'or', message: tooBig(256, 'array', 'items') });
    expect(refusal(DatasetQuery, query({ filters: many }))).toEqual({ path: 'filters', message: tooBig(256, 'array', 'items') });
    expect(DatasetQuery.parse(query({ filters: many.slice(1) })).filters).toHaveLength(256);
  });

  it('reports a mistake deep in a group at its exact key', () => {
    expect(refusal(DatasetQuery, query({ filters: [leaf, { or: [leaf, { and: [{ column: 'bed', filter: { in: [] } }] }] }] }))).toEqual({
      path: 'filters[1].or[1].and[0].filter.in',
      message: 'in needs at least one value',
    });
  });
});

describe('filter nesting depth', () => {
  const nest = (depth: number, key: 'and' | 'or' = 'and'): unknown => {
    let node: unknown = leaf;
    for (let i = 1; i < depth; i++) node = { [key]: [node] };
    return node;
  };

  it('accepts groups nested up to MAX_FILTER_DEPTH, with and or or', () => {
    for (const key of ['and', 'or'] as const) expect(DatasetQuery.safeParse(query({ filters: [nest(MAX_FILTER_DEPTH, key)] })).success).toBe(true);
  });

  it('refuses one level more, at the group that goes too deep, whichever its kind and position', () => {
    const message = `filter groups nest at most ${MAX_FILTER_DEPTH} deep`;
    expect(refusal(DatasetQuery, query({ filters: [nest(MAX_FILTER_DEPTH + 1)] }))).toEqual({ path: `filters${'[0].and'.repeat(MAX_FILTER_DEPTH)}`, message });
    expect(refusal(DatasetQuery, query({ filters: [leaf, nest(MAX_FILTER_DEPTH + 1, 'or')] }))).toEqual({
      path: `filters[1].or${'[0].or'.repeat(MAX_FILTER_DEPTH - 1)}`,
      message,
    });
    // The deep branch sits beside a shallow one, second in its list.
    expect(refusal(DatasetQuery, query({ filters: [{ and: [leaf, nest(MAX_FILTER_DEPTH)] }] }))).toEqual({
      path: `filters[0].and[1]${'.and[0]'.repeat(MAX_FILTER_DEPTH - 2)}.and`,
      message,
    });
  });

  it('leaves non-group entries to the schema, which names what is wrong with them', () => {
    expect(refusal(DatasetQuery, query({ filters: [leaf, null] }))).toMatchObject({ path: 'filters[1]' });
    expect(refusal(DatasetQuery, query({ filters: [{ and: 'bed' }] }))).toEqual({ path: 'filters[0].and', message: 'Invalid input: expected array, received string' });
    expect(refusal(DatasetQuery, query({ filters: 'bed = 1' }))).toEqual({ path: 'filters', message: 'Invalid input: expected array, received string' });
  });
});

describe('dataset queries', () => {
  it('keeps what the client sent, defaulting only the order direction', () => {
    expect(DatasetQuery.parse(query({ from: 'rentals', orderBy: [{ column: 'msa' }], limit: 5 }))).toEqual({
      from: 'rentals',
      scopes: [{ column: 'msa' }],
      orderBy: [{ column: 'msa', direction: 'asc' }],
      limit: 5,
    });
    expect(DatasetQuery.parse(query({ orderBy: null })).orderBy).toBeNull();
    expect(DatasetQuery.parse(query({}))).toStrictEqual({ scopes: [{ column: 'msa' }] });
    expect(OrderBy.parse({ column: 'msa', direction: 'desc' })).toEqual({ column: 'msa', direction: 'desc' });
  });

  it.each([
    ['no scopes', { scopes: [] }, 'scopes', 'at least one scope is required'],
    ['257 scopes', { scopes: Array.from({ length: 257 }, () => ({ column: 'msa' })) }, 'scopes', tooBig(256, 'array', 'items')],
    ['an empty dataset key', query({ from: '' }), 'from', 'Too small: expected string to have >=1 characters'],
    ['a 129-character dataset key', query({ from: 'd'.repeat(129) }), 'from', tooBig(128, 'string', 'characters')],
    ['a fractional limit', query({ limit: 1.5 }), 'limit', 'Invalid input: expected int, received number'],
    ['a zero limit', query({ limit: 0 }), 'limit', 'Too small: expected number to be >0'],
    ['257 order keys', query({ orderBy: Array.from({ length: 257 }, () => ({ column: 'msa' })) }), 'orderBy', tooBig(256, 'array', 'items')],
    ['an order key with an empty column', query({ orderBy: [{ column: '' }] }), 'orderBy[0].column', 'Too small: expected string to have >=1 characters'],
    ['a bad order direction', query({ orderBy: [{ column: 'msa', direction: 'up' }] }), 'orderBy[0].direction', 'Invalid option: expected one of "asc"|"desc"'],
    ['unknown fields', query({ select: 1, where: 2 }), '', 'unknown field(s): select, where'],
  ])('refuses %s', (_what, body, path, message) => {
    expect(refusal(DatasetQuery, body)).toEqual({ path, message });
  });

  it('accepts the largest lists and keys it allows', () => {
    const parsed = DatasetQuery.parse({
      from: 'd'.repeat(128),
      scopes: Array.from({ length: 256 }, () => ({ column: 'msa' })),
      orderBy: Array.from({ length: 256 }, () => ({ column: 'msa' })),
      limit: 1,
    });
    expect([parsed.scopes.length, parsed.orderBy?.length, parsed.limit]).toEqual([256, 256, 1]);
  });
});

describe('output names', () => {
  it('uses the alias first, then column_granularity, then aggregate_column, then the column', () => {
    expect(scopeOutputName({ column: 'rent', aggregate: 'Avg', alias: 'mean_rent' })).toBe('mean_rent');
    expect(scopeOutputName({ column: 'week', granularity: 'month', alias: 'm' })).toBe('m');
    expect(scopeOutputName({ column: 'as_of_week', granularity: 'quarter' })).toBe('as_of_week_quarter');
    expect(scopeOutputName({ column: 'msa' })).toBe('msa');
  });

  it.each([
    ['Avg', 'avg_x'],
    ['Sum', 'sum_x'],
    ['Min', 'min_x'],
    ['Max', 'max_x'],
    ['Count', 'count_x'],
    ['CountDistinct', 'count_distinct_x'],
    ['Median', 'median_x'],
  ] as const)('names %s of x %s', (aggregate, name) => {
    expect(scopeOutputName({ column: 'x', aggregate })).toBe(name);
  });
});
