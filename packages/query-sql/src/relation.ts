import { FerryError, type DatasetDefinition } from '@ferry/core';
import type { Dialect } from './dialect.js';
import { quoteLiteral, quoteQualified } from './quote.js';

/** DuckDB reader for a file or glob, picked by extension; Parquet unless it is clearly CSV or JSON. */
function fileReader(path: string): string {
  const lower = path.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (lower.endsWith('.csv') || lower.endsWith('.tsv')) return 'read_csv';
  if (lower.endsWith('.json') || lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'read_json';
  return 'read_parquet';
}

/** The FROM item for a dataset's relation. The catalog is trusted config, but it is still quoted. */
export function relationSql(dataset: DatasetDefinition, dialect: Dialect): string {
  const relation = dataset.relation;
  if ('table' in relation) return quoteQualified(relation.table);
  if ('file' in relation) {
    if (dialect !== 'duckdb') {
      throw new FerryError('UNSUPPORTED', `dataset "${dataset.key}" is a file; only the duckdb dialect reads files`, {
        path: ['datasets', dataset.key, 'relation'],
      });
    }
    return `${fileReader(relation.file)}(${quoteLiteral(relation.file)})`;
  }
  // A trailing semicolon or line comment would break the wrapping parentheses; strip the former,
  // and end the subquery on a new line so a trailing `-- comment` cannot swallow the `)`.
  const inner = relation.sql.trim().replace(/;+\s*$/, '');
  return `(\n${inner}\n)`;
}
