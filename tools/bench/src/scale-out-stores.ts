/**
 * The two job stores side by side for the scale-out benchmarks: PostgreSQL in a schema of its own
 * on 127.0.0.1 (dropped afterwards) and SQLite in a temporary directory (removed afterwards).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { JobStore } from '@ferry/core';
import { PostgresJobStore } from '@ferry/jobs-postgres';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { PG } from './dataset.js';

export const PG_URL = `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}`;

/** Where a worker process finds the store: PostgreSQL tables in `schema`, or one SQLite file. */
export type StoreLocation = { kind: 'postgres'; schema: string } | { kind: 'sqlite'; file: string };

export const STORE_LABEL: Record<StoreLocation['kind'], string> = { postgres: 'PostgreSQL', sqlite: 'SQLite' };

/**
 * Open the store the way a worker process does. The parent creates (migrates) the schema first, so
 * workers only check it; `listen` stays on unless a caller has no use for wake-ups.
 */
export async function openStore(at: StoreLocation, opts: { migrate?: boolean; listen?: boolean } = {}): Promise<JobStore> {
  if (at.kind === 'sqlite') return new SqliteJobStore({ file: at.file });
  return PostgresJobStore.open({ connectionString: PG_URL, schema: at.schema, migrate: opts.migrate ?? false, listen: opts.listen ?? true });
}

/**
 * `FERRY_BENCH_SCHEMA_PREFIX` lets runs sharing one database keep apart (and clean up) their own
 * schemas; it must be a plain lower-case identifier, as the job store requires of schema names.
 */
function schemaPrefix(): string {
  const prefix = process.env.FERRY_BENCH_SCHEMA_PREFIX ?? 'ferry_bench';
  if (!/^[a-z_][a-z0-9_]{0,19}$/.test(prefix)) throw new Error('FERRY_BENCH_SCHEMA_PREFIX: a lower-case identifier of at most 20 characters');
  return prefix;
}

/** A fresh PostgreSQL schema and SQLite directory for one run, and their removal. */
export class BenchPlaces {
  readonly #extra: string[] = [];

  private constructor(
    readonly postgres: { kind: 'postgres'; schema: string },
    readonly sqlite: { kind: 'sqlite'; file: string },
    private readonly dir: string,
  ) {}

  /** Another PostgreSQL schema beside the first (`<first>_<suffix>`), removed with it. */
  extraPostgres(suffix: string): { kind: 'postgres'; schema: string } {
    const schema = `${this.postgres.schema}_${suffix}`;
    this.#extra.push(schema);
    return { kind: 'postgres', schema };
  }

  static async create(label: string): Promise<BenchPlaces> {
    const schema = `${schemaPrefix()}_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
    const dir = await mkdtemp(join(tmpdir(), `ferry-bench-${label}-`));
    return new BenchPlaces({ kind: 'postgres', schema }, { kind: 'sqlite', file: join(dir, 'ferry.db') }, dir);
  }

  /** Run `fn` on an admin connection to the benchmark database (for the bare loop's table). */
  async sql<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  async remove(): Promise<void> {
    await this.sql(async (c) => {
      for (const schema of [this.postgres.schema, ...this.#extra]) await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
    await rm(this.dir, { recursive: true, force: true });
  }
}
