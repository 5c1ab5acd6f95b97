import { z } from 'zod';

/**
 * Schema names become part of every table name and of the NOTIFY channels (`<schema>:exports`),
 * so they are plain lower-case identifiers short enough that a channel name stays within
 * PostgreSQL's 63-byte identifier limit; `pg_` is reserved for system schemas.
 */
export const SchemaName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,49}$/, 'a lower-case SQL identifier (letters, digits, underscores; at most 50 characters)')
  .refine((name) => !name.startsWith('pg_'), 'names starting with pg_ are reserved by PostgreSQL');

/** The message never repeats the value: a connection string may hold a password. */
export const ConnectionString = z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// or postgresql:// URL');

export const PostgresJobsOptions = z.strictObject({
  /** `postgres://user:password@host:5432/database`; never logged or put in an error message. */
  connectionString: ConnectionString,
  /** Every table, the migrations table and the NOTIFY channels live in this schema. */
  schema: SchemaName.default('ferry'),
  /** Pooled connections per process (the LISTEN connection comes on top). */
  poolSize: z.int().min(1).max(1000).default(10),
  /** LISTEN for new work; false behind a transaction-pooling proxy (pgbouncer transaction mode). */
  listen: z.boolean().default(true),
  /**
   * Run statements as named prepared statements, planned once per connection (the claims' plans
   * cost about as much as running them). False behind a transaction-pooling proxy that cannot
   * carry them (pgbouncer before 1.21, or `max_prepared_statements = 0`).
   */
  preparedStatements: z.boolean().default(true),
  /** Apply pending migrations at start-up; false to require `ferry migrate` to have run. */
  migrate: z.boolean().default(true),
});
export type PostgresJobsOptions = z.output<typeof PostgresJobsOptions>;
export type PostgresJobsInput = z.input<typeof PostgresJobsOptions>;
