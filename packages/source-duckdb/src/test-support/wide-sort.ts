import { DatasetDefinition, type DatasetQuery } from '@ferry/core';

/** `rows` rows of 64-character keys: sorting 1M of them needs more than a 48 MB memory limit, so DuckDB spills. */
export function wideSortDataset(rows = 3_000_000): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'wide',
    relation: { sql: `SELECT i, md5(CAST(i AS VARCHAR)) || md5(CAST(i + 1 AS VARCHAR)) AS s FROM range(${rows}) t(i)` },
    columns: [
      { name: 'i', type: 'bigint', role: 'dimension' },
      { name: 's', type: 'string', role: 'dimension' },
    ],
    limits: { maxRows: 5_000_000 },
  });
}

export const WIDE_SORT_QUERY: DatasetQuery = { from: 'wide', scopes: [{ column: 's' }, { column: 'i' }], orderBy: [{ column: 's', direction: 'asc' }] };
