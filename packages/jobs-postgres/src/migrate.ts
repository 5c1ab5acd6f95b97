import { createHash } from 'node:crypto';
import pg from 'pg';
import { FerryError, parseOrThrow } from '@ferry/core';
import { clientConfig, PLUGIN, secretsOf, toFerryError } from './connection.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresJobsOptions, type PostgresJobsInput } from './options.js';
import { quoteIdent, Tables, type Queryable } from './session.js';

/** The advisory lock key for one schema's migrations: 64 bits of a hash of its name. */
export function migrationLockKey(schema: string): string {
  const digest = createHash('sha256').update(`ferry-migrations:${schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}

export interface MigrationOutcome {
  /** The schema's version before. */
  from: number;
  /** The schema's version after: the code's latest. */
  to: number;
}

async function currentVersion(db: Queryable, tables: Tables): Promise<number> {
  const exists = await db.query('SELECT to_regclass($1) IS NOT NULL AS present', [tables.migrations]);
  if (!exists.rows[0]?.present) return 0;
  const row = await db.query(`SELECT coalesce(max(version), 0) AS version FROM ${tables.migrations}`);
  return Number(row.rows[0]?.version ?? 0);
}

function newerThanCode(schema: string, version: number): FerryError {
  return new FerryError(
    'UNSUPPORTED',
    `job store schema "${schema}" is at version ${version}, newer than this Ferry knows (${MIGRATIONS.length}): ` +
      'a newer release migrated it; run that release (or newer) against this database',
    { plugin: PLUGIN },
  );
}

/**
 * Bring `schema` up to the latest version, once across every process starting at the same time:
 * one transaction holds a transaction-level advisory lock keyed by the schema (a session lock
 * would not survive a transaction-pooling proxy), applies what is missing, and records it. DDL
 * is transactional in PostgreSQL, so a failed migration leaves the schema as it was.
 */
export async function migrateSchema(db: Queryable, schema: string): Promise<MigrationOutcome> {
  const tables = new Tables(schema);
  await db.query('BEGIN');
  try {
    await db.query('SELECT pg_advisory_xact_lock($1::bigint)', [migrationLockKey(schema)]);
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${tables.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const from = await currentVersion(db, tables);
    if (from > MIGRATIONS.length) throw newerThanCode(schema, from);
    await db.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    for (let version = from + 1; version <= MIGRATIONS.length; version++) {
      await db.query(MIGRATIONS[version - 1]!);
      await db.query(`INSERT INTO ${tables.migrations} (version) VALUES ($1)`, [version]);
    }
    await db.query('COMMIT');
    return { from, to: MIGRATIONS.length };
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Without migrating: fail unless the schema is exactly at the code's version. */
export async function checkSchema(db: Queryable, schema: string): Promise<void> {
  const version = await currentVersion(db, new Tables(schema));
  if (version > MIGRATIONS.length) throw newerThanCode(schema, version);
  if (version < MIGRATIONS.length) {
    throw new FerryError(
      'INVALID_CONFIG',
      `job store schema "${schema}" is at version ${version}, this Ferry needs ${MIGRATIONS.length}: run \`ferry migrate\` (or set migrate: true)`,
      { plugin: PLUGIN },
    );
  }
}

/** For `ferry migrate`: migrate the configured schema over one short-lived connection. */
export async function migratePostgres(input: PostgresJobsInput): Promise<MigrationOutcome> {
  const options = parseOrThrow(PostgresJobsOptions, input, { code: 'INVALID_OPTIONS', plugin: PLUGIN });
  const secrets = secretsOf(options.connectionString);
  const client = new pg.Client(clientConfig(options.connectionString, 'ferry-migrate'));
  // An 'error' event without a listener would crash the process; the failing call reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await migrateSchema(client, options.schema);
  } catch (err) {
    throw toFerryError(err, secrets, 'migrating the job store schema');
  } finally {
    await client.end().catch(() => undefined);
  }
}
