import { describe, expect, it } from 'vitest';
import { createCatalog, DatasetDefinition, FerryError, resolveQuery, type DatasetQuery } from '@ferry/core';
import { compileQuery } from './compile.js';
import { paramValue } from './params.js';
import { quoteIdent, quoteLiteral, quoteQualified } from './quote.js';

const columns = [
  { name: 'street_address', type: 'string', role: 'dimension' },
  { name: 'msa', type: 'string', role: 'dimension' },
  { name: 'bed', type: 'integer', role: 'dimension' },
  { name: 'property_id', type: 'bigint', role: 'dimension' },
  { name: 'asking_rent', type: 'integer', role: 'measure' },
  { name: 'occupancy', type: 'double', role: 'measure' },
  { name: 'price', type: 'decimal', role: 'measure' },
  { name: 'furnished', type: 'boolean', role: 'dimension' },
  { name: 'as_of_week', type: 'date', role: 'time' },
  { name: 'seen_at', type: 'timestamp', role: 'time' },
] as const;

const rentals = DatasetDefinition.parse({ key: 'rentals', relation: { file: "/data/o'brien/rentals.parquet" }, columns });
const table = DatasetDefinition.parse({ key: 'tbl', relation: { table: 'analytics.rentals' }, columns });
const sub = DatasetDefinition.parse({ key: 'sub', relation: { sql: 'select * from rentals where bed < 5; ' }, columns });
const catalog = createCatalog([rentals, table, sub]);
const resolve = (q: DatasetQuery) => resolveQuery(catalog, q);

const seedQuery: DatasetQuery = {
  scopes: [{ column: 'street_address' }, { column: 'asking_rent', aggregate: 'Avg' }],
  filters: [
    { column: 'msa', filter: { equals: 'Seattle, WA' } },
    { column: 'bed', filter: { in: [1, 2, 3] } },
  ],
  limit: 10000,
};

describe('compileQuery', () => {
  it('compiles the seed query for DuckDB', () => {
    const { sql, params } = compileQuery(resolve(seedQuery), 'duckdb');
    expect(sql).toBe(
      [
        'SELECT "street_address" AS "street_address", CAST(avg("asking_rent") AS DOUBLE) AS "avg_asking_rent"',
        `FROM read_parquet('/data/o''brien/rentals.parquet') AS "ferry_source"`,
        'WHERE "msa" = CAST($1 AS VARCHAR) AND "bed" IN (CAST($2 AS INTEGER), CAST($3 AS INTEGER), CAST($4 AS INTEGER))',
        'GROUP BY "street_address"',
        'ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST',
        'LIMIT 10000',
      ].join('\n'),
    );
    expect(params).toEqual(['Seattle, WA', 1, 2, 3]);
  });

  it('compiles the seed query for PostgreSQL over a schema-qualified table', () => {
    const { sql, params } = compileQuery(resolve({ ...seedQuery, from: 'tbl' }), 'postgres');
    expect(sql).toBe(
      [
        'SELECT "street_address" COLLATE "C" AS "street_address", CAST(avg("asking_rent") AS double precision) AS "avg_asking_rent"',
        'FROM "analytics"."rentals" AS "ferry_source"',
        'WHERE "msa" = CAST($1 AS text) AND "bed" IN (CAST($2 AS integer), CAST($3 AS integer), CAST($4 AS integer))',
        'GROUP BY "street_address" COLLATE "C"',
        'ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST',
        'LIMIT 10000',
      ].join('\n'),
    );
    expect(params).toEqual(['Seattle, WA', 1, 2, 3]);
  });

  it('selects plain columns without GROUP BY and uses the dataset maximum as the default limit', () => {
    const { sql, params } = compileQuery(resolve({ scopes: [{ column: 'msa' }, { column: 'bed' }] }), 'duckdb');
    expect(sql).not.toContain('GROUP BY');
    expect(sql).not.toContain('WHERE');
    expect(sql).toContain('SELECT "msa" AS "msa", "bed" AS "bed"\n');
    expect(sql).toMatch(/ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST\nLIMIT 1000000$/);
    expect(params).toEqual([]);
  });

  it('aggregates without dimensions have no GROUP BY', () => {
    const { sql } = compileQuery(
      resolve({ from: 'tbl', scopes: [{ column: 'asking_rent', aggregate: 'Sum' }, { column: 'msa', aggregate: 'CountDistinct' }] }),
      'postgres',
    );
    expect(sql).toContain('SELECT CAST(sum("asking_rent") AS bigint) AS "sum_asking_rent", count(DISTINCT "msa" COLLATE "C") AS "count_distinct_msa"');
    expect(sql).not.toContain('GROUP BY');
  });

  it.each([
    ['Avg', 'duckdb', 'CAST(avg("occupancy") AS DOUBLE) AS "avg_occupancy"'],
    ['Sum', 'duckdb', 'sum("occupancy") AS "sum_occupancy"'],
    ['Min', 'duckdb', 'min("occupancy") AS "min_occupancy"'],
    ['Max', 'postgres', 'max("occupancy") AS "max_occupancy"'],
    ['Count', 'postgres', 'count("occupancy") AS "count_occupancy"'],
    ['CountDistinct', 'duckdb', 'count(DISTINCT "occupancy") AS "count_distinct_occupancy"'],
    ['Median', 'duckdb', 'CAST(median("occupancy") AS DOUBLE) AS "median_occupancy"'],
    [
      'Median',
      'postgres',
      'CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY "occupancy") AS double precision) AS "median_occupancy"',
    ],
  ] as const)('%s on %s', (aggregate, dialect, expected) => {
    const from = dialect === 'postgres' ? 'tbl' : 'rentals';
    const { sql } = compileQuery(resolve({ from, scopes: [{ column: 'msa' }, { column: 'occupancy', aggregate }] }), dialect);
    const msa = dialect === 'postgres' ? '"msa" COLLATE "C"' : '"msa"';
    expect(sql).toContain(`SELECT ${msa} AS "msa", ${expected}\n`);
    expect(sql).toContain(`GROUP BY ${msa}\n`);
  });

  it('casts every parameter to its column type and keeps exact values as text', () => {
    const { sql, params } = compileQuery(
      resolve({
        scopes: [{ column: 'msa' }],
        filters: [
          { column: 'property_id', filter: { in: ['9007199254740993', 42] } },
          { column: 'price', filter: { equals: '1234.56' } },
          { column: 'occupancy', filter: { equals: '0.95' } },
          { column: 'furnished', filter: { equals: true } },
          { column: 'as_of_week', filter: { equals: '2024-01-01' } },
          { column: 'seen_at', filter: { equals: '2024-01-01T10:00:00Z' } },
          { column: 'bed', filter: { equals: 2 } },
        ],
      }),
      'duckdb',
    );
    expect(sql).toContain(
      'WHERE "property_id" IN (CAST($1 AS BIGINT), CAST($2 AS BIGINT)) AND "price" = CAST($3 AS DECIMAL(38, 18))' +
        ' AND "occupancy" = CAST($4 AS DOUBLE) AND "furnished" = CAST($5 AS BOOLEAN) AND "as_of_week" = CAST($6 AS DATE)' +
        ' AND "seen_at" = CAST($7 AS TIMESTAMPTZ) AND "bed" = CAST($8 AS INTEGER)',
    );
    expect(params).toEqual(['9007199254740993', '42', '1234.56', 0.95, true, '2024-01-01', '2024-01-01T10:00:00Z', 2]);
  });

  it('puts hostile strings only in params', () => {
    const hostile = `'); DROP TABLE x; --`;
    const other = `Robert"); DELETE FROM y; /*`;
    const { sql, params } = compileQuery(
      resolve({
        from: 'tbl',
        scopes: [{ column: 'street_address' }],
        filters: [
          { column: 'msa', filter: { equals: hostile } },
          { column: 'street_address', filter: { in: [other, hostile] } },
        ],
      }),
      'postgres',
    );
    expect(sql).not.toContain('DROP');
    expect(sql).not.toContain('DELETE');
    expect(sql).not.toContain('Robert');
    expect(params).toEqual([hostile, other, hostile]);
  });

  it('wraps a SQL relation as a subquery, dropping a trailing semicolon', () => {
    const { sql } = compileQuery(resolve({ from: 'sub', scopes: [{ column: 'msa' }] }), 'postgres');
    expect(sql).toContain('FROM (\nselect * from rentals where bed < 5\n) AS "ferry_source"\n');
  });

  it('refuses file relations for PostgreSQL', () => {
    expect(() => compileQuery(resolve({ scopes: [{ column: 'msa' }] }), 'postgres')).toThrow(FerryError);
  });

  it('refuses integers out of range with TYPE_MISMATCH, in the resolver and again when binding', () => {
    expect(() => resolve({ scopes: [{ column: 'msa' }], filters: [{ column: 'bed', filter: { in: [1, 2 ** 31] } }] })).toThrow(
      expect.objectContaining({ code: 'TYPE_MISMATCH', path: ['filters', 0, 'filter', 'in', 1] }),
    );
    expect(() => paramValue('bigint', '9223372036854775808', ['x'])).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH', path: ['x'] }));
    expect(() => paramValue('integer', 2 ** 31, ['x'])).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
  });
});

describe('quoting', () => {
  it('doubles embedded quotes', () => {
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteQualified('s.t')).toBe('"s"."t"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(() => quoteIdent('a\0b')).toThrow();
  });
});
