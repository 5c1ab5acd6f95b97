import type { DatasetQuery } from '@ferry/core';

/**
 * The shared query suite: each case is a Ferry query and a hand-written DuckDB reference over the
 * table `rows` (see query-fixture.ts), with the output names Ferry must produce. Every source must
 * return exactly the reference's rows, in the reference's order.
 *
 * Conventions the references spell out: NULLs never satisfy an operator except isNull (SQL
 * three-valued logic); strings compare and sort by code point; default order is every output
 * ascending, NULLS LAST; a requested order comes first, then the other outputs ascending.
 */
export interface QueryCase {
  name: string;
  query: DatasetQuery;
  reference: string;
  /** The reference returns no rows on purpose (otherwise an empty reference is a broken case). */
  empty?: true;
}

/** `SELECT id FROM rows WHERE <where> ORDER BY id`: the shape of most operator cases. */
const ids = (where: string): string => `SELECT id FROM rows WHERE ${where} ORDER BY id ASC NULLS LAST`;
const idsQuery = (filters: DatasetQuery['filters']): DatasetQuery => ({ scopes: [{ column: 'id' }], filters });

export const QUERY_CASES: readonly QueryCase[] = [
  // ---------------------------------------------------------------- grain and default order
  {
    name: 'plain columns at the dataset grain, default order',
    query: { scopes: [{ column: 'city' }, { column: 'id' }] },
    reference: 'SELECT city, id FROM rows ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST',
  },
  {
    name: 'a plain scope keeps duplicate rows (no grouping without aggregates)',
    query: { scopes: [{ column: 'bed' }] },
    reference: 'SELECT bed FROM rows ORDER BY bed ASC NULLS LAST',
  },
  {
    name: 'every column type at the grain',
    query: { scopes: ['id', 'city', 'bed', 'rent', 'price', 'big', 'flag', 'day'].map((column) => ({ column })) },
    reference: 'SELECT id, city, bed, rent, price, big, flag, day FROM rows ORDER BY 1, 2, 3, 4, 5, 6, 7, 8',
  },
  // ---------------------------------------------------------------- operators
  { name: 'equals on text', query: idsQuery([{ column: 'city', filter: { equals: 'Seattle' } }]), reference: ids(`city = 'Seattle'`) },
  { name: 'equals the empty string', query: idsQuery([{ column: 'city', filter: { equals: '' } }]), reference: ids(`city = ''`) },
  { name: 'equals on an integer', query: idsQuery([{ column: 'bed', filter: { equals: 2 } }]), reference: ids('bed = 2') },
  { name: 'equals on a boolean', query: idsQuery([{ column: 'flag', filter: { equals: true } }]), reference: ids('flag') },
  {
    name: 'equals on a bigint beyond 2^53 (as a string)',
    query: idsQuery([{ column: 'big', filter: { equals: '9007199254740997' } }]),
    reference: ids('big = 9007199254740997'),
  },
  {
    name: 'notEquals drops NULL rows',
    query: idsQuery([{ column: 'city', filter: { notEquals: 'Seattle' } }]),
    reference: ids(`city <> 'Seattle'`),
  },
  { name: 'in on integers', query: idsQuery([{ column: 'bed', filter: { in: [0, 3] } }]), reference: ids('bed IN (0, 3)') },
  {
    name: 'in on bigints given as strings and numbers',
    query: idsQuery([{ column: 'big', filter: { in: ['9007199254740994', '9007199254740990', 1] } }]),
    reference: ids('big IN (9007199254740994, 9007199254740990, 1)'),
  },
  {
    name: 'notIn drops NULL rows',
    query: idsQuery([{ column: 'city', filter: { notIn: ['Seattle', 'Berlin', ''] } }]),
    reference: ids(`city NOT IN ('Seattle', 'Berlin', '')`),
  },
  { name: 'gt on a double', query: idsQuery([{ column: 'rent', filter: { gt: 1200.25 } }]), reference: ids('rent > 1200.25') },
  {
    name: 'gte on a decimal given as text',
    query: idsQuery([{ column: 'price', filter: { gte: '5.35' } }]),
    reference: ids('price >= 5.35'),
  },
  { name: 'lt on a date', query: idsQuery([{ column: 'day', filter: { lt: '2024-03-01' } }]), reference: ids(`day < DATE '2024-03-01'`) },
  {
    name: 'lte on a timestamp',
    query: idsQuery([{ column: 'ts', filter: { lte: '2024-04-10T05:35:30.25' } }]),
    reference: ids(`ts <= TIMESTAMP '2024-04-10 05:35:30.25'`),
  },
  { name: 'gt on text compares by code point', query: idsQuery([{ column: 'city', filter: { gt: 'Seattle' } }]), reference: ids(`city > 'Seattle'`) },
  { name: 'between integers, inclusive', query: idsQuery([{ column: 'id', filter: { between: [5, 9] } }]), reference: ids('id BETWEEN 5 AND 9') },
  {
    name: 'between dates, inclusive',
    query: idsQuery([{ column: 'day', filter: { between: ['2024-01-01', '2024-06-30'] } }]),
    reference: ids(`day BETWEEN DATE '2024-01-01' AND DATE '2024-06-30'`),
  },
  { name: 'contains is case-sensitive', query: idsQuery([{ column: 'city', filter: { contains: 'eat' } }]), reference: ids(`contains(city, 'eat')`) },
  { name: 'contains a literal %', query: idsQuery([{ column: 'city', filter: { contains: '%' } }]), reference: ids(`contains(city, '%')`) },
  { name: 'contains a literal _', query: idsQuery([{ column: 'city', filter: { contains: 'a_' } }]), reference: ids(`contains(city, 'a_')`) },
  { name: 'contains a backslash', query: idsQuery([{ column: 'city', filter: { contains: '\\' } }]), reference: ids(`contains(city, '\\')`) },
  { name: 'contains a quote', query: idsQuery([{ column: 'city', filter: { contains: "O'" } }]), reference: ids(`contains(city, 'O''')`) },
  {
    name: 'notContains drops NULL rows',
    query: idsQuery([{ column: 'city', filter: { notContains: 'e' } }]),
    reference: ids(`NOT contains(city, 'e')`),
  },
  { name: 'startsWith', query: idsQuery([{ column: 'city', filter: { startsWith: 'Se' } }]), reference: ids(`starts_with(city, 'Se')`) },
  { name: 'endsWith with a literal %b', query: idsQuery([{ column: 'city', filter: { endsWith: '%b' } }]), reference: ids(`ends_with(city, '%b')`) },
  { name: 'isNull true', query: idsQuery([{ column: 'city', filter: { isNull: true } }]), reference: ids('city IS NULL') },
  { name: 'isNull false', query: idsQuery([{ column: 'price', filter: { isNull: false } }]), reference: ids('price IS NOT NULL') },
  {
    name: 'the seed shape: equals and in, combined',
    query: idsQuery([
      { column: 'flag', filter: { equals: false } },
      { column: 'bed', filter: { in: [1, 2, 3] } },
    ]),
    reference: ids('flag = false AND bed IN (1, 2, 3)'),
  },
  {
    name: 'an or group',
    query: idsQuery([{ or: [{ column: 'bed', filter: { equals: 0 } }, { column: 'city', filter: { isNull: true } }] }]),
    reference: ids('(bed = 0 OR city IS NULL)'),
  },
  {
    name: 'nested and/or groups',
    query: idsQuery([
      {
        or: [
          { and: [{ column: 'flag', filter: { equals: true } }, { column: 'rent', filter: { lt: 1200 } }] },
          { and: [{ column: 'day', filter: { gte: '2024-10-01' } }, { or: [{ column: 'bed', filter: { in: [1] } }, { column: 'price', filter: { lt: 0 } }] }] },
        ],
      },
      { column: 'id', filter: { notEquals: 17 } },
    ]),
    reference: ids(`((flag AND rent < 1200) OR (day >= DATE '2024-10-01' AND (bed IN (1) OR price < 0))) AND id <> 17`),
  },
  {
    name: 'a filter that matches nothing keeps the output columns',
    query: { scopes: [{ column: 'city' }, { column: 'rent', aggregate: 'Sum' }], filters: [{ column: 'id', filter: { gt: 1000 } }] },
    reference: 'SELECT city, sum(rent) AS sum_rent FROM rows WHERE id > 1000 GROUP BY city ORDER BY 1, 2',
    empty: true,
  },
  // ---------------------------------------------------------------- aggregates
  {
    name: 'aggregates without grouping give one row',
    query: {
      scopes: [
        { column: 'city', aggregate: 'Count' },
        { column: 'city', aggregate: 'CountDistinct' },
        { column: 'rent', aggregate: 'Sum' },
        { column: 'rent', aggregate: 'Avg' },
      ],
    },
    reference: 'SELECT count(city) AS count_city, count(DISTINCT city) AS count_distinct_city, sum(rent) AS sum_rent, avg(rent) AS avg_rent FROM rows',
  },
  {
    name: 'Sum and Avg of a double grouped by an integer (NULL group last)',
    query: { scopes: [{ column: 'bed' }, { column: 'rent', aggregate: 'Sum' }, { column: 'rent', aggregate: 'Avg' }] },
    reference: 'SELECT bed, sum(rent) AS sum_rent, avg(rent) AS avg_rent FROM rows GROUP BY bed ORDER BY 1 ASC NULLS LAST, 2, 3',
  },
  {
    name: 'Median of a double',
    query: { scopes: [{ column: 'bed' }, { column: 'rent', aggregate: 'Median' }] },
    reference: 'SELECT bed, median(rent) AS median_rent FROM rows GROUP BY bed ORDER BY 1 ASC NULLS LAST',
  },
  {
    name: 'Min and Max of text by code point',
    query: { scopes: [{ column: 'flag' }, { column: 'city', aggregate: 'Min' }, { column: 'city', aggregate: 'Max' }] },
    reference: 'SELECT flag, min(city) AS min_city, max(city) AS max_city FROM rows GROUP BY flag ORDER BY 1 ASC NULLS LAST',
  },
  {
    name: 'Sum, Min and Max of a decimal keep its scale',
    query: { scopes: [{ column: 'flag' }, { column: 'price', aggregate: 'Sum' }, { column: 'price', aggregate: 'Min' }, { column: 'price', aggregate: 'Max' }] },
    reference: 'SELECT flag, sum(price) AS sum_price, min(price) AS min_price, max(price) AS max_price FROM rows GROUP BY flag ORDER BY 1 ASC NULLS LAST',
  },
  {
    name: 'Sum of bigints stays exact',
    query: { scopes: [{ column: 'bed' }, { column: 'big', aggregate: 'Sum' }, { column: 'big', aggregate: 'Max' }] },
    reference: 'SELECT bed, CAST(sum(big) AS BIGINT) AS sum_big, max(big) AS max_big FROM rows GROUP BY bed ORDER BY 1 ASC NULLS LAST',
  },
  {
    name: 'Min and Max of a date, Count of an integer',
    query: { scopes: [{ column: 'day', aggregate: 'Min' }, { column: 'day', aggregate: 'Max' }, { column: 'id', aggregate: 'Count' }] },
    reference: 'SELECT min(day) AS min_day, max(day) AS max_day, count(id) AS count_id FROM rows',
  },
  {
    name: 'Count of a bigint and Max of an integer per group',
    query: { scopes: [{ column: 'flag' }, { column: 'big', aggregate: 'Count' }, { column: 'bed', aggregate: 'Max' }] },
    reference: 'SELECT flag, count(big) AS count_big, max(bed) AS max_bed FROM rows GROUP BY flag ORDER BY 1 ASC NULLS LAST',
  },
  {
    name: 'grouping by two columns',
    query: { scopes: [{ column: 'flag' }, { column: 'bed' }, { column: 'id', aggregate: 'Count' }] },
    reference: 'SELECT flag, bed, count(id) AS count_id FROM rows GROUP BY flag, bed ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST',
  },
  // ---------------------------------------------------------------- time buckets
  {
    name: 'week buckets start on Monday (ISO)',
    query: { scopes: [{ column: 'day', granularity: 'week' }, { column: 'id', aggregate: 'Count' }] },
    reference: `SELECT CAST(date_trunc('week', day) AS DATE) AS day_week, count(id) AS count_id FROM rows GROUP BY 1 ORDER BY 1 ASC NULLS LAST`,
  },
  {
    name: 'month buckets with an average',
    query: { scopes: [{ column: 'day', granularity: 'month' }, { column: 'rent', aggregate: 'Avg' }] },
    reference: `SELECT CAST(date_trunc('month', day) AS DATE) AS day_month, avg(rent) AS avg_rent FROM rows GROUP BY 1 ORDER BY 1 ASC NULLS LAST`,
  },
  {
    name: 'quarter buckets',
    query: { scopes: [{ column: 'day', granularity: 'quarter' }, { column: 'price', aggregate: 'Sum' }] },
    reference: `SELECT CAST(date_trunc('quarter', day) AS DATE) AS day_quarter, sum(price) AS sum_price FROM rows GROUP BY 1 ORDER BY 1 ASC NULLS LAST`,
  },
  {
    name: 'year buckets of a timestamp',
    query: { scopes: [{ column: 'ts', granularity: 'year' }, { column: 'id', aggregate: 'Count' }] },
    reference: `SELECT CAST(date_trunc('year', ts) AS DATE) AS ts_year, count(id) AS count_id FROM rows GROUP BY 1 ORDER BY 1 ASC NULLS LAST`,
  },
  {
    name: 'month buckets of a timestamp, grouped with a dimension',
    query: { scopes: [{ column: 'ts', granularity: 'month' }, { column: 'flag' }, { column: 'id', aggregate: 'Count' }] },
    reference: `SELECT CAST(date_trunc('month', ts) AS DATE) AS ts_month, flag, count(id) AS count_id FROM rows GROUP BY 1, 2 ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST`,
  },
  {
    name: 'a bucket without aggregates stays at the grain',
    query: { scopes: [{ column: 'id' }, { column: 'day', granularity: 'quarter' }], filters: [{ column: 'id', filter: { lte: 12 } }] },
    reference: `SELECT id, CAST(date_trunc('quarter', day) AS DATE) AS day_quarter FROM rows WHERE id <= 12 ORDER BY 1, 2`,
  },
  // ---------------------------------------------------------------- filters after grouping
  {
    name: 'a filter on an aggregate applies after grouping (HAVING)',
    query: { scopes: [{ column: 'city' }, { column: 'id', aggregate: 'Count' }], filters: [{ column: 'id', aggregate: 'Count', filter: { gte: 4 } }] },
    reference: 'SELECT city, count(id) AS count_id FROM rows GROUP BY city HAVING count(id) >= 4 ORDER BY 1 ASC NULLS LAST',
  },
  {
    name: 'row and aggregate filters together, with an or group after grouping',
    query: {
      scopes: [{ column: 'bed' }, { column: 'rent', aggregate: 'Avg' }],
      filters: [
        { column: 'flag', filter: { isNull: false } },
        { or: [{ column: 'rent', aggregate: 'Avg', filter: { between: [1100, 1180] } }, { column: 'rent', aggregate: 'Max', filter: { gt: 1390 } }] },
      ],
    },
    reference:
      'SELECT bed, avg(rent) AS avg_rent FROM rows WHERE flag IS NOT NULL GROUP BY bed HAVING (avg(rent) BETWEEN 1100 AND 1180 OR max(rent) > 1390) ORDER BY 1 ASC NULLS LAST',
  },
  // ---------------------------------------------------------------- aliases, order, limit
  {
    name: 'aliases name the outputs',
    query: { scopes: [{ column: 'bed', alias: 'bedrooms' }, { column: 'rent', aggregate: 'Avg', alias: 'mean_rent' }, { column: 'day', granularity: 'year', alias: 'yr' }] },
    reference: `SELECT bed AS bedrooms, avg(rent) AS mean_rent, CAST(date_trunc('year', day) AS DATE) AS yr FROM rows GROUP BY 1, 3 ORDER BY 1 ASC NULLS LAST, 2, 3 ASC NULLS LAST`,
  },
  {
    name: 'orderBy an aggregate descending, the rest ascending after it',
    query: { scopes: [{ column: 'city' }, { column: 'id', aggregate: 'Count' }], orderBy: [{ column: 'count_id', direction: 'desc' }] },
    reference: 'SELECT city, count(id) AS count_id FROM rows GROUP BY city ORDER BY 2 DESC NULLS LAST, 1 ASC NULLS LAST',
  },
  {
    name: 'orderBy an alias, and a column that names one scope',
    query: {
      scopes: [{ column: 'bed' }, { column: 'rent', aggregate: 'Max', alias: 'top' }],
      orderBy: [{ column: 'top', direction: 'asc' }, { column: 'bed', direction: 'desc' }],
    },
    reference: 'SELECT bed, max(rent) AS top FROM rows GROUP BY bed ORDER BY 2 ASC NULLS LAST, 1 DESC NULLS LAST',
  },
  {
    name: 'text descending keeps NULLs last',
    query: { scopes: [{ column: 'city' }, { column: 'id' }], orderBy: [{ column: 'city', direction: 'desc' }] },
    reference: 'SELECT city, id FROM rows ORDER BY 1 DESC NULLS LAST, 2 ASC NULLS LAST',
  },
  {
    name: 'booleans order false, true, NULL',
    query: { scopes: [{ column: 'flag' }, { column: 'id', aggregate: 'CountDistinct' }] },
    reference: 'SELECT flag, count(DISTINCT id) AS count_distinct_id FROM rows GROUP BY flag ORDER BY 1 ASC NULLS LAST',
  },
  {
    name: 'limit keeps the first rows of the full order',
    query: { scopes: [{ column: 'rent' }, { column: 'id' }], orderBy: [{ column: 'rent', direction: 'desc' }], limit: 7 },
    reference: 'SELECT rent, id FROM rows ORDER BY 1 DESC NULLS LAST, 2 ASC NULLS LAST LIMIT 7',
  },
  {
    name: 'decimals and dates order numerically and chronologically',
    query: { scopes: [{ column: 'price' }, { column: 'day' }, { column: 'id' }], filters: [{ column: 'price', filter: { between: ['-9.99', '7.5'] } }] },
    reference: 'SELECT price, day, id FROM rows WHERE price BETWEEN -9.99 AND 7.5 ORDER BY 1, 2 ASC NULLS LAST, 3',
  },
];
