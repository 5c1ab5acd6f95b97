import { describe, expect, it } from 'vitest';
import { createCatalog, DatasetDefinition, resolveQuery, type DatasetQuery } from '@ferry/core';
import { compileQuery } from './compile.js';
import { escapeLike } from './conditions.js';

const dataset = DatasetDefinition.parse({
  key: 'rentals',
  relation: { table: 'rentals' },
  columns: [
    { name: 'msa', type: 'string', role: 'dimension' },
    { name: 'bed', type: 'integer', role: 'dimension' },
    { name: 'asking_rent', type: 'double', role: 'measure' },
    { name: 'as_of_week', type: 'date', role: 'time' },
    { name: 'seen_at', type: 'timestamp', role: 'time' },
  ],
});
const catalog = createCatalog([dataset]);
const compile = (query: DatasetQuery, dialect: 'duckdb' | 'postgres' = 'duckdb') => compileQuery(resolveQuery(catalog, query), dialect);

describe('grammar compilation', () => {
  it('orders by every output by default, and not at all when orderBy is null', () => {
    expect(compile({ scopes: [{ column: 'msa' }, { column: 'bed' }] }).sql).toContain('ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST');
    expect(compile({ scopes: [{ column: 'msa' }, { column: 'bed' }], orderBy: null }).sql).not.toContain('ORDER BY');
  });

  it('escapes LIKE metacharacters in the bound value, never in SQL text', () => {
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\');
    const { sql, params } = compile({ scopes: [{ column: 'msa' }], filters: [{ column: 'msa', filter: { contains: "a%_b'" } }, { column: 'msa', filter: { startsWith: 'S' } }, { column: 'msa', filter: { notContains: 'x' } }, { column: 'msa', filter: { endsWith: '_' } }] });
    expect(sql).toContain(
      `WHERE "msa" LIKE CAST($1 AS VARCHAR) ESCAPE '\\' AND "msa" LIKE CAST($2 AS VARCHAR) ESCAPE '\\' AND "msa" NOT LIKE CAST($3 AS VARCHAR) ESCAPE '\\' AND "msa" LIKE CAST($4 AS VARCHAR) ESCAPE '\\'`,
    );
    expect(params).toEqual(["%a\\%\\_b'%", 'S%', '%x%', '%\\_']);
  });

  it('parenthesizes nested groups and keeps NULL semantics three-valued', () => {
    const { sql, params } = compile({
      scopes: [{ column: 'msa' }],
      filters: [
        { or: [{ column: 'bed', filter: { notIn: [1, 2] } }, { and: [{ column: 'msa', filter: { isNull: true } }, { column: 'bed', filter: { between: [0, 3] } }] }] },
        { column: 'msa', filter: { notEquals: 'x' } },
      ],
    });
    expect(sql).toContain(
      'WHERE ("bed" NOT IN (CAST($1 AS INTEGER), CAST($2 AS INTEGER)) OR ("msa" IS NULL AND "bed" BETWEEN CAST($3 AS INTEGER) AND CAST($4 AS INTEGER))) AND "msa" <> CAST($5 AS VARCHAR)',
    );
    expect(params).toEqual([1, 2, 0, 3, 'x']);
  });

  it('groups by time buckets, filters aggregates in HAVING, orders as asked then by the rest', () => {
    const query: DatasetQuery = {
      scopes: [{ column: 'as_of_week', granularity: 'quarter', alias: 'q' }, { column: 'msa' }, { column: 'asking_rent', aggregate: 'Median' }],
      filters: [{ column: 'asking_rent', aggregate: 'Median', filter: { gt: 1000 } }, { column: 'bed', filter: { equals: 2 } }],
      orderBy: [{ column: 'median_asking_rent', direction: 'desc' }],
      limit: 10,
    };
    expect(compile(query).sql).toBe(
      [
        `SELECT CAST(date_trunc('quarter', "as_of_week") AS DATE) AS "q", "msa" AS "msa", CAST(median("asking_rent") AS DOUBLE) AS "median_asking_rent"`,
        'FROM "rentals" AS "ferry_source"',
        'WHERE "bed" = CAST($1 AS INTEGER)',
        `GROUP BY CAST(date_trunc('quarter', "as_of_week") AS DATE), "msa"`,
        'HAVING CAST(median("asking_rent") AS DOUBLE) > CAST($2 AS DOUBLE)',
        'ORDER BY 3 DESC NULLS LAST, 1 ASC NULLS LAST, 2 ASC NULLS LAST',
        'LIMIT 10',
      ].join('\n'),
    );
    const pg = compile(query, 'postgres').sql;
    expect(pg).toContain(`CAST(date_trunc('quarter', CAST("as_of_week" AS timestamp)) AS date) AS "q", "msa" COLLATE "C" AS "msa"`);
    expect(pg).toContain('HAVING CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY "asking_rent") AS double precision) > CAST($2 AS double precision)');
  });

  it('orders and compares text by code point on PostgreSQL, keeping equality index-friendly', () => {
    const { sql } = compile({ scopes: [{ column: 'msa', aggregate: 'Max' }], filters: [{ column: 'msa', filter: { gt: 'M' } }, { column: 'msa', filter: { in: ['A'] } }] }, 'postgres');
    expect(sql).toContain('SELECT max("msa" COLLATE "C") AS "max_msa"');
    expect(sql).toContain('WHERE "msa" COLLATE "C" > CAST($1 AS text) AND "msa" IN (CAST($2 AS text))');
  });

  it('takes another placeholder form for sources that cannot bind (COPY)', () => {
    const { sql, params } = compileQuery(resolveQuery(catalog, { scopes: [{ column: 'msa' }], filters: [{ column: 'msa', filter: { equals: 'x' } }] }), 'postgres', {
      placeholder: (n) => `current_setting('ferry.p${n}')`,
    });
    expect(sql).toContain(`WHERE "msa" = CAST(current_setting('ferry.p1') AS text)`);
    expect(params).toEqual(['x']);
  });

  it('never puts hostile text in SQL: values are bound, names are validated', () => {
    const hostile = `'); DROP TABLE rentals; --`;
    const { sql, params } = compile({
      scopes: [{ column: 'msa', alias: 'safe_name' }],
      filters: [
        { column: 'msa', filter: { contains: hostile } },
        { column: 'msa', filter: { between: [hostile, `${hostile}z`] } },
        { or: [{ column: 'msa', filter: { notIn: [hostile] } }, { column: 'msa', filter: { startsWith: hostile } }] },
      ],
    });
    expect(sql).not.toContain('DROP');
    expect(params.filter((p) => String(p).includes('DROP'))).toHaveLength(5);
    expect(() => resolveQuery(catalog, { scopes: [{ column: `msa"; DROP TABLE rentals; --` }] })).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN' }));
  });
});
