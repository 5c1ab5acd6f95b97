import { z } from 'zod';
import { pushdownOption } from '@ferry/core';
import { NATIVE_FORMATS } from './native.js';

const Identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain SQL identifier');

export const PostgresSourceOptions = z
  .strictObject({
    /** `postgres://user:password@host:port/database`; the fields below override its parts. */
    connectionString: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: z.int().min(1).max(65535).optional(),
    database: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    /** Put first on the search_path, so `{ table: "rentals" }` finds `<schema>.rentals`. */
    schema: Identifier.optional(),
    /** Connections in the pool: at most this many exports read at once. */
    poolSize: z.int().min(1).max(1000).default(4),
    /** Server-side statement_timeout for every query, in milliseconds (none by default). */
    statementTimeoutMs: z.int().min(1).optional(),
    /** Rows per Arrow batch (and per cursor round trip when reading text). */
    batchRows: z.int().min(1).max(1_048_576).default(8192),
    /**
     * How `open` reads results: `binary` decodes `COPY ... (FORMAT binary)` straight into Arrow
     * columns (queries with a column type it does not know still read as text); `text` always
     * uses the server-side text cursor. Both give the same schema and values.
     */
    readMode: z.enum(['binary', 'text']).default('binary'),
    /**
     * Formats the server writes itself with `COPY ... TO STDOUT` (pushdown): a list, `true` for
     * both it can (`csv`, `jsonl`) or `false` for none. The default is `csv` alone: with binary reads
     * the Arrow path writes JSON Lines 7-17% faster than the server's per-row JSON
     * expressions (docs/benchmarks.md). The file is the same bytes either way (README, "Pushdown").
     */
    pushdown: pushdownOption(NATIVE_FORMATS, ['csv']),
    /** TLS: `true` to require it with the system CAs, or node-postgres' TLS settings. */
    ssl: z
      .union([
        z.boolean(),
        z.strictObject({
          rejectUnauthorized: z.boolean().optional(),
          /** PEM text of the CA certificate(s) to trust. */
          ca: z.string().optional(),
          servername: z.string().optional(),
        }),
      ])
      .optional(),
  });
export type PostgresSourceOptions = z.output<typeof PostgresSourceOptions>;
