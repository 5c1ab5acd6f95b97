import { createHash } from 'node:crypto';
import type pg from 'pg';
import { FerryError, type WorkKind } from '@ferry/core';
import { PLUGIN, toFerryError } from './connection.js';

/** Anything that runs one statement: the pool outside a transaction, the transaction's client inside. */
export interface Queryable {
  query(text: string, values?: readonly unknown[]): Promise<pg.QueryResult>;
  query(config: pg.QueryConfig<unknown[]>): Promise<pg.QueryResult>;
}

export type Row = Record<string, unknown>;

/** `"name"`: the schema name is validated, and quoting keeps it exact (no case folding). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Qualified table names in one schema. */
export class Tables {
  readonly accounts: string;
  readonly apiKeys: string;
  readonly settings: string;
  readonly exports: string;
  readonly downloads: string;
  readonly endpoints: string;
  readonly events: string;
  readonly deliveries: string;
  readonly attempts: string;
  readonly versions: string;
  readonly schedules: string;
  readonly migrations: string;

  constructor(readonly schema: string) {
    const t = (name: string) => `${quoteIdent(schema)}.${name}`;
    this.accounts = t('accounts');
    this.apiKeys = t('api_keys');
    this.settings = t('settings');
    this.exports = t('exports');
    this.downloads = t('downloads');
    this.endpoints = t('endpoints');
    this.events = t('events');
    this.deliveries = t('deliveries');
    this.attempts = t('delivery_attempts');
    this.versions = t('dataset_versions');
    this.schedules = t('schedules');
    this.migrations = t('ferry_migrations');
  }
}

/** Every kind of work a process can be woken for. */
export const WORK_KINDS: readonly WorkKind[] = ['exports', 'deliveries'];

/** The NOTIFY channel for new work of one kind in one schema (`:` cannot occur in a schema name). */
export function workChannel(schema: string, kind: WorkKind): string {
  return `${schema}:${kind}`;
}

/** What every part shares: where its tables are, the store's clock, what to keep out of errors, how to send statements. */
export interface StoreEnv {
  readonly tables: Tables;
  readonly now: () => number;
  readonly secrets: readonly string[];
  readonly statements: StatementNames;
}

/**
 * A prepared statement's name, the same for the same text in every process: node-postgres prepares
 * a name once per connection and then only binds and executes it.
 */
export function statementName(sql: string, generation = 0): string {
  return `ferry_${createHash('sha1').update(`${generation}\0${sql}`).digest('hex').slice(0, 24)}`;
}

/**
 * Names for prepared statements, or none when they are off. A migration run by a newer process
 * (a rolling upgrade) can change what `SELECT *` returns; PostgreSQL then refuses to run the old
 * prepared statement ("cached plan must not change result type") on every connection that holds
 * it. A new generation names every statement afresh, so each connection prepares it again.
 */
export class StatementNames {
  #generation = 0;
  /** Names already hashed in this generation: every statement runs through here, the hot paths included. */
  readonly #named = new Map<string, string>();
  constructor(readonly enabled: boolean) {}

  name(sql: string): string | undefined {
    if (!this.enabled) return undefined;
    let name = this.#named.get(sql);
    if (name === undefined) {
      name = statementName(sql, this.#generation);
      this.#named.set(sql, name);
    }
    return name;
  }

  /** Whether `err` is PostgreSQL refusing a prepared statement whose result type changed; if so, start a new generation. */
  renewAfter(err: unknown): boolean {
    const e = err as { code?: unknown; message?: unknown } | null;
    const stale = this.enabled && e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
    if (stale) {
      this.#generation++;
      this.#named.clear();
    }
    return stale;
  }
}

/**
 * How a part reaches the database. Outside a transaction `atomic` opens one of its own; inside
 * `transaction(fn)` it runs on the same client, so the caller's transaction covers it. `announce`
 * tells listeners about new work once it has committed: at once outside a transaction, after COMMIT
 * inside one, never after a ROLLBACK (see WorkSignals).
 */
export class Session {
  constructor(
    readonly db: Queryable,
    readonly env: StoreEnv,
    readonly atomic: <T>(fn: (session: Session) => Promise<T>) => Promise<T>,
    readonly announce: (kind: WorkKind) => void,
    /** Inside a transaction a failed statement aborts it: it cannot be tried again there. */
    readonly inTransaction = false,
  ) {}

  get t(): Tables {
    return this.env.tables;
  }

  now(): Date {
    return new Date(this.env.now());
  }

  async run(sql: string, values: readonly unknown[] = []): Promise<pg.QueryResult> {
    try {
      return await this.db.query({ name: this.env.statements.name(sql), text: sql, values: values as unknown[] });
    } catch (err) {
      if (this.env.statements.renewAfter(err)) {
        // Outside a transaction the statement can simply be prepared again under its new name;
        // inside one the transaction is aborted, and TRANSIENT has the caller try it all again.
        if (!this.inTransaction) return this.run(sql, values);
        throw new FerryError('TRANSIENT', 'PostgreSQL job store: the tables changed under a prepared statement (a migration ran); try again', { plugin: PLUGIN });
      }
      throw toFerryError(err, this.env.secrets, 'a query');
    }
  }

  async rows(sql: string, values: readonly unknown[] = []): Promise<Row[]> {
    return (await this.run(sql, values)).rows as Row[];
  }

  async one(sql: string, values: readonly unknown[] = []): Promise<Row | null> {
    return ((await this.run(sql, values)).rows[0] as Row | undefined) ?? null;
  }

  /** Rows the statement changed. */
  async changed(sql: string, values: readonly unknown[] = []): Promise<number> {
    return (await this.run(sql, values)).rowCount ?? 0;
  }
}

/**
 * BEGIN, `fn`, COMMIT; on a throw, ROLLBACK and rethrow the same error (the caller's own errors pass
 * through untouched); the client always goes back to the pool, destroyed if it broke.
 */
export async function inTransaction<T>(pool: pg.Pool, secrets: readonly string[], fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const { client, release } = await checkOut(pool, secrets, 'connecting');
  let broken: Error | undefined;
  const step = async (sql: string): Promise<void> => {
    try {
      await client.query(sql);
    } catch (err) {
      throw toFerryError(err, secrets, sql);
    }
  };
  try {
    await step('BEGIN');
    const result = await fn(client);
    await step('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection is unusable (it dropped mid-transaction): destroy it rather than reuse it.
      broken = rollbackError instanceof Error ? rollbackError : new Error('ROLLBACK failed');
    }
    throw err;
  } finally {
    release(broken);
  }
}

/**
 * A pooled client for a caller's own statements. While it is checked out the pool does not listen
 * for its errors, and pg emits a connection that dies then (a server restart, a failover, a killed
 * backend) as an 'error' event: with no listener that crashes the process. The failure reaches the
 * pending query anyway, so the listener only keeps it from being thrown a second time. `release`
 * gives the client back, or destroys it when given a reason.
 */
export async function checkOut(pool: pg.Pool, secrets: readonly string[], doing: string): Promise<{ client: pg.PoolClient; release: (broken?: Error | boolean) => void }> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw toFerryError(err, secrets, doing);
  }
  const ignore = (): void => undefined;
  client.on('error', ignore);
  return {
    client,
    release: (broken) => {
      client.off('error', ignore);
      client.release(broken);
    },
  };
}
