import { definePlugin } from '@ferry/core';
import { PostgresSourceOptions } from './options.js';
import { PostgresSource } from './source.js';

export const postgresSource = definePlugin({
  kind: 'source',
  name: 'postgres',
  description: 'PostgreSQL: tables, views or SQL, streamed as Arrow batches decoded from binary COPY (or a text cursor).',
  options: PostgresSourceOptions,
  capabilities: {
    /** Datasets may be `{ table }` relations (optionally schema-qualified). */
    tables: true,
    /** Datasets may be `{ sql }` relations. */
    sql: true,
    /** No `{ file }` relations: PostgreSQL does not read files for us. */
    files: false,
    /** Rows arrive in bounded batches; memory does not grow with the result. */
    streaming: true,
    /** CSV and JSON Lines via COPY ... TO STDOUT, byte-identical to the Arrow path. */
    nativeExport: true,
  },
  create: (options, ctx) => PostgresSource.create(options, ctx),
});
