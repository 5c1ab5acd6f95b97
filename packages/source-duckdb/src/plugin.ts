import { definePlugin } from '@ferry/core';
import { DuckDBSourceOptions } from './options.js';
import { DuckDBSource } from './source.js';

export const duckdbSource = definePlugin({
  kind: 'source',
  name: 'duckdb',
  description: 'Embedded DuckDB: tables in a database file, Parquet/CSV/JSON files and globs, or SQL over them.',
  options: DuckDBSourceOptions,
  capabilities: {
    /** Datasets may be `{ file }` relations (read_parquet / read_csv / read_json). */
    files: true,
    /** Datasets may be `{ table }` relations in the database at `path`. */
    tables: true,
    /** Datasets may be `{ sql }` relations. */
    sql: true,
    /** Rows arrive in bounded batches; memory does not grow with the result. */
    streaming: true,
    /** Parquet (by default), CSV and JSON Lines written by DuckDB's COPY, reading back as the Arrow path's (csv and jsonl byte for byte, doubles excepted: null). */
    nativeExport: true,
  },
  create: (options, ctx) => DuckDBSource.create(options, ctx),
});
