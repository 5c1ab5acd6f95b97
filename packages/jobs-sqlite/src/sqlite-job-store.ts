import Database from 'better-sqlite3';
import { mkdirSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  FerryError,
  type AccountsPart,
  type DeliveriesPart,
  type EndpointsPart,
  type EventsPart,
  type ExportsPart,
  type JobStore,
  type JobStoreParts,
  type SchedulesPart,
  type SettingsPart,
  type VersionsPart,
  type WorkKind,
} from '@ferry/core';
import { SqlExecutor } from './executor.js';
import { MIGRATIONS } from './schema.js';
import { acquireSharedFile, releaseSharedFile, type SharedFile } from './shared-file.js';
import { runParts, sqliteParts, type CallRunner } from './parts/index.js';

export interface SqliteJobStoreOptions {
  /** Database file, or `:memory:`. */
  file: string;
  /** Clock (epoch ms), injectable so lease expiry can be tested without waiting. */
  now?: () => number;
}

/** How long a write waits for another connection's write transaction before failing as TRANSIENT. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * The job store on one SQLite file in WAL mode. better-sqlite3 is synchronous and a transaction's
 * callback is async, so a transaction holds this connection (and, in this process, every store on
 * the same file) until it ends: calls on the store's own parts wait for it rather than run inside
 * it. Across connections BEGIN IMMEDIATE serialises writers, so claims never overlap.
 */
export class SqliteJobStore implements JobStore {
  readonly name = 'sqlite';
  readonly accounts: AccountsPart;
  readonly settings: SettingsPart;
  readonly exports: ExportsPart;
  readonly endpoints: EndpointsPart;
  readonly events: EventsPart;
  readonly deliveries: DeliveriesPart;
  readonly versions: VersionsPart;
  readonly schedules: SchedulesPart;

  readonly #db: Database.Database;
  readonly #executor: SqlExecutor;
  readonly #parts: JobStoreParts;
  readonly #fileKey: string | null;
  readonly #shared: SharedFile;
  readonly #myListeners = new Set<{ kind: WorkKind; listener: () => void }>();
  #closed = false;

  constructor(options: SqliteJobStoreOptions) {
    const memory = options.file === ':memory:';
    if (!memory) mkdirSync(dirname(options.file), { recursive: true });
    this.#db = new Database(options.file);
    try {
      // busy_timeout first: switching to WAL and migrating take locks another process may hold.
      this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('foreign_keys = ON');
      migrate(this.#db);
    } catch (error) {
      this.#db.close();
      throw error;
    }
    this.#fileKey = memory ? null : realpathSync(options.file);
    this.#shared = acquireSharedFile(this.#fileKey);
    this.#executor = new SqlExecutor(this.#db, options.now ?? Date.now);
    this.#parts = sqliteParts(this.#executor);

    const alone: CallRunner = (call) =>
      this.#shared.mutex.run(async () => {
        this.#assertOpen();
        try {
          const result = await call();
          this.#announce();
          return result;
        } catch (error) {
          this.#executor.takeWork();
          throw storeError(error);
        }
      });
    const parts = runParts(this.#parts, alone);
    this.accounts = parts.accounts;
    this.settings = parts.settings;
    this.exports = parts.exports;
    this.endpoints = parts.endpoints;
    this.events = parts.events;
    this.deliveries = parts.deliveries;
    this.versions = parts.versions;
    this.schedules = parts.schedules;
  }

  async transaction<T>(fn: (tx: JobStoreParts) => Promise<T>): Promise<T> {
    return this.#shared.mutex.run(async () => {
      this.#assertOpen();
      try {
        this.#db.exec('BEGIN IMMEDIATE');
      } catch (error) {
        throw storeError(error);
      }
      let open = true;
      const within: CallRunner = async (call) => {
        if (!open) throw new FerryError('INTERNAL', 'A job store transaction was used after it ended: use its parts only inside the callback.');
        try {
          return await call();
        } catch (error) {
          throw storeError(error);
        }
      };
      try {
        const result = await fn(runParts(this.#parts, within));
        open = false;
        this.#db.exec('COMMIT');
        this.#announce();
        return result;
      } catch (error) {
        open = false;
        // Some errors (a full disk, an I/O error) end the transaction themselves.
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        this.#executor.takeWork();
        throw storeError(error);
      }
    });
  }

  onWork(kind: WorkKind, listener: () => void): () => void {
    const entry = { kind, listener };
    this.#myListeners.add(entry);
    this.#shared.listeners[kind].add(listener);
    return () => {
      this.#myListeners.delete(entry);
      this.#shared.listeners[kind].delete(listener);
    };
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    // Let an open transaction finish first.
    await this.#shared.mutex.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      for (const { kind, listener } of this.#myListeners) this.#shared.listeners[kind].delete(listener);
      this.#myListeners.clear();
      releaseSharedFile(this.#fileKey);
      this.#db.close();
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new FerryError('INTERNAL', 'The SQLite job store is closed.');
  }

  /** After a commit: wake whoever waits for the kinds of work it queued, in this process. */
  #announce(): void {
    for (const kind of this.#executor.takeWork()) {
      for (const listener of this.#shared.listeners[kind]) queueMicrotask(listener);
    }
  }
}

/** `ferry migrate` for a SQLite file: apply what it has not had yet (opening a store does the same). */
export function migrateSqliteFile(file: string): { from: number; to: number } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    const from = Number(db.pragma('user_version', { simple: true }));
    migrate(db);
    return { from, to: Number(db.pragma('user_version', { simple: true })) };
  } finally {
    db.close();
  }
}

/** Apply the migrations this database has not had yet, each in its own write transaction. */
function migrate(db: Database.Database): void {
  const step = db.transaction((): boolean => {
    // Read inside the write lock: another process opening the same new file may have migrated it.
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > MIGRATIONS.length) {
      throw new FerryError(
        'UNSUPPORTED',
        `The job database is at schema version ${version}, newer than this Ferry knows (${MIGRATIONS.length}): a newer release migrated it; run that release (or newer).`,
      );
    }
    if (version === MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {
    // one migration per transaction
  }
}

/** SQLite's errors, given Ferry's codes (their messages name tables and columns, never values). */
function storeError(error: unknown): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  if (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED')) {
    return new FerryError('TRANSIENT', `The SQLite job store is busy: ${error.message}`, { retryable: true, cause: error, plugin: 'jobs:sqlite' });
  }
  if (error.code === 'SQLITE_FULL') {
    // Space may be freed (retention, an operator): the request is worth repeating later.
    return new FerryError('STORAGE_FULL', 'The SQLite job store is full (disk full): try again later', {
      retryable: true,
      retryAfterSeconds: 30,
      cause: error,
      plugin: 'jobs:sqlite',
    });
  }
  if (error.code.startsWith('SQLITE_CONSTRAINT')) {
    return new FerryError('CONFLICT', `The SQLite job store refused a write: ${error.message}`, { cause: error, plugin: 'jobs:sqlite' });
  }
  return new FerryError('INTERNAL', `The SQLite job store failed: ${error.message}`, { cause: error, plugin: 'jobs:sqlite' });
}
