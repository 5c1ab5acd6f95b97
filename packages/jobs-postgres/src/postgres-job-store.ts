import pg from 'pg';
import { parseOrThrow, silentLogger, type JobStore, type JobStoreParts, type Logger, type WorkKind } from '@ferry/core';
import { clientConfig, redact, secretsOf, toFerryError } from './connection.js';
import { checkSchema, migrateSchema, type MigrationOutcome } from './migrate.js';
import { PostgresJobsOptions, type PostgresJobsInput } from './options.js';
import { PostgresAccounts } from './parts/accounts.js';
import { PostgresDeliveries } from './parts/deliveries.js';
import { PostgresEndpoints } from './parts/endpoints.js';
import { PostgresEvents } from './parts/events.js';
import { PostgresExports } from './parts/exports.js';
import { PostgresSchedules } from './parts/schedules.js';
import { PostgresSettings } from './parts/settings.js';
import { PostgresVersions } from './parts/versions.js';
import { checkOut, inTransaction, Session, StatementNames, Tables, type StoreEnv } from './session.js';
import { WorkListener } from './work-listener.js';
import { WorkSignals } from './work-signals.js';

export interface PostgresJobStoreOptions extends PostgresJobsInput {
  /** The store's clock (epoch ms): leases and due times are compared with it, passed to SQL as parameters. */
  now?: () => number;
  logger?: Logger;
}

function partsOver(session: Session): JobStoreParts {
  return {
    accounts: new PostgresAccounts(session),
    settings: new PostgresSettings(session),
    exports: new PostgresExports(session),
    endpoints: new PostgresEndpoints(session),
    events: new PostgresEvents(session),
    deliveries: new PostgresDeliveries(session),
    versions: new PostgresVersions(session),
    schedules: new PostgresSchedules(session),
  };
}

/**
 * The job store on PostgreSQL: Ferry's own tables in one schema, shared by every `api` and
 * `worker` process. Claims lease rows with `FOR UPDATE SKIP LOCKED`; new work is announced with
 * NOTIFY once the transaction that created it has committed (WorkSignals). Use `PostgresJobStore.open` (or `start()` after
 * the constructor) before calling it: start-up migrates, or checks, the schema.
 */
export class PostgresJobStore implements JobStore {
  readonly name = 'postgres';
  readonly accounts: JobStoreParts['accounts'];
  readonly settings: JobStoreParts['settings'];
  readonly exports: JobStoreParts['exports'];
  readonly endpoints: JobStoreParts['endpoints'];
  readonly events: JobStoreParts['events'];
  readonly deliveries: JobStoreParts['deliveries'];
  readonly versions: JobStoreParts['versions'];
  readonly schedules: JobStoreParts['schedules'];
  /** Absent with `listen: false`: nothing can tell this process about new work, so workers poll. */
  readonly onWork?: (kind: WorkKind, listener: () => void) => () => void;

  readonly schema: string;
  readonly #options: PostgresJobsOptions;
  readonly #pool: pg.Pool;
  readonly #env: StoreEnv;
  readonly #listener: WorkListener | null;
  readonly #signals: WorkSignals;
  readonly #logger: Logger;
  #closed: Promise<void> | null = null;
  /** The schema version found when this store started, before it migrated anything. */
  #foundAtStart: number | null = null;

  constructor(options: PostgresJobStoreOptions) {
    const { now, logger, ...rest } = options;
    this.#options = parseOrThrow(PostgresJobsOptions, rest, { code: 'INVALID_OPTIONS', plugin: 'jobs:postgres' });
    this.schema = this.#options.schema;
    this.#logger = logger ?? silentLogger;
    const secrets = secretsOf(this.#options.connectionString);
    this.#env = { tables: new Tables(this.schema), now: now ?? Date.now, secrets, statements: new StatementNames(this.#options.preparedStatements) };
    this.#pool = new pg.Pool({ ...clientConfig(this.#options.connectionString, `ferry:${this.schema}`), max: this.#options.poolSize });
    // An idle pooled connection that dies emits 'error' on the pool; unhandled, it would crash the
    // process. The pool drops that connection and opens a new one when needed.
    this.#pool.on('error', (err) => this.#logger.warn({ err: redact(err.message, secrets), schema: this.schema }, 'job store connection lost'));

    this.#signals = new WorkSignals(this.#pool, this.schema, this.#logger, secrets);
    const parts = partsOver(
      new Session(
        this.#pool,
        this.#env,
        (fn) => this.#atomic(fn),
        (kind) => this.#signals.announce(kind),
      ),
    );
    this.accounts = parts.accounts;
    this.settings = parts.settings;
    this.exports = parts.exports;
    this.endpoints = parts.endpoints;
    this.events = parts.events;
    this.deliveries = parts.deliveries;
    this.versions = parts.versions;
    this.schedules = parts.schedules;

    if (this.#options.listen) {
      const listener = new WorkListener(clientConfig(this.#options.connectionString, `ferry-listen:${this.schema}`), this.schema, this.#logger, secrets);
      this.#listener = listener;
      this.onWork = (kind, fn) => listener.subscribe(kind, fn);
    } else {
      this.#listener = null;
    }
  }

  /** Construct and start. */
  static async open(options: PostgresJobStoreOptions): Promise<PostgresJobStore> {
    const store = new PostgresJobStore(options);
    try {
      await store.start();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** Migrate the schema (or, with `migrate: false`, check it is current); fails on a schema newer than this code. */
  async start(): Promise<this> {
    await this.#withClient(`preparing the job store schema "${this.schema}"`, async (client) => {
      if (this.#options.migrate) {
        const { from, to } = await migrateSchema(client, this.schema);
        this.#foundAtStart = from;
        if (from !== to) this.#logger.info({ schema: this.schema, from, to }, 'job store schema migrated');
      } else {
        await checkSchema(client, this.schema);
      }
    });
    return this;
  }

  /**
   * Bring the schema up to date (for `ferry migrate`); `from` is the version this store found when
   * it started, so migrating at start-up and then here reports the step that start-up made.
   */
  async migrate(): Promise<MigrationOutcome> {
    const outcome = await this.#withClient(`migrating the job store schema "${this.schema}"`, (client) => migrateSchema(client, this.schema));
    return { from: this.#foundAtStart ?? outcome.from, to: outcome.to };
  }

  async #withClient<T>(doing: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const { client, release } = await checkOut(this.#pool, this.#env.secrets, `connecting to the job store (schema "${this.schema}")`);
    let failed = false;
    try {
      return await fn(client);
    } catch (err) {
      failed = true;
      throw toFerryError(err, this.#env.secrets, doing);
    } finally {
      // After a failure the connection may be broken: close it rather than pool it (rare, and only here).
      release(failed);
    }
  }

  transaction<T>(fn: (tx: JobStoreParts) => Promise<T>): Promise<T> {
    return this.#atomic((session) => fn(partsOver(session)));
  }

  /**
   * One transaction; inside it, nested "own transactions" run on the same client (the outer one
   * covers them), and the work it announces is announced after COMMIT.
   */
  async #atomic<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const announced = new Set<WorkKind>();
    const result = await inTransaction(this.#pool, this.#env.secrets, (client) => {
      const session: Session = new Session(
        client,
        this.#env,
        (inner) => inner(session),
        (kind) => announced.add(kind),
        true,
      );
      return fn(session);
    });
    for (const kind of announced) this.#signals.announce(kind);
    return result;
  }

  async ping(): Promise<void> {
    try {
      await this.#pool.query('SELECT 1');
    } catch (err) {
      throw toFerryError(err, this.#env.secrets, 'ping');
    }
  }

  /** The LISTEN connection's backend pid while it is connected; null when not listening. */
  get listenerBackendPid(): number | null {
    return this.#listener?.backendPid ?? null;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#listener?.close();
      await this.#signals.close();
      await this.#pool.end().catch(() => undefined);
    })();
    return this.#closed;
  }
}
