import type Database from 'better-sqlite3';
import type { WorkKind } from '@ferry/core';

/**
 * What every part runs on: the connection, the store's clock and a statement cache. Parts hold
 * SQL and row mapping only; the store decides whether a call runs alone or inside `transaction`.
 */
export class SqlExecutor {
  readonly #db: Database.Database;
  readonly now: () => number;
  readonly #statements = new Map<string, Database.Statement>();
  /** Runs its argument inside BEGIN IMMEDIATE, or inside a SAVEPOINT when a transaction is open. */
  readonly #atomic: Database.Transaction<(fn: () => unknown) => unknown>;
  readonly #work = new Set<WorkKind>();

  constructor(db: Database.Database, now: () => number) {
    this.#db = db;
    this.now = now;
    this.#atomic = db.transaction((fn: () => unknown) => fn());
  }

  /** Prepared once per SQL text: compiling a statement costs more than running a small one. */
  sql(text: string): Database.Statement {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /**
   * Run several statements as one change. Alone it is a write transaction of its own (IMMEDIATE,
   * so a read-then-write cannot be overtaken by another connection); inside `transaction` it is a
   * savepoint, so a failing method leaves nothing half-written in the surrounding transaction.
   */
  atomic<T>(fn: () => T): T {
    return this.#atomic.immediate(fn) as T;
  }

  /**
   * `atomic` for writes that may be lost in a power cut without harm (a lease: the item just
   * becomes due again). Alone, the commit skips the fsync; inside a transaction nothing changes,
   * since SQLite fixes the safety level when the transaction begins.
   */
  atomicLease<T>(fn: () => T): T {
    if (this.#db.inTransaction) return this.atomic(fn);
    // Prepared once, like any statement: `db.pragma()` compiles its text on every call.
    this.sql('PRAGMA synchronous = NORMAL').run();
    try {
      return this.atomic(fn);
    } finally {
      this.sql('PRAGMA synchronous = FULL').run();
    }
  }

  /** Note that the current change queued work of `kind`, to announce once it commits. */
  addedWork(kind: WorkKind): void {
    this.#work.add(kind);
  }

  /** The kinds of work queued since the last call (after a commit), or forget them (after a rollback). */
  takeWork(): WorkKind[] {
    if (this.#work.size === 0) return [];
    const kinds = [...this.#work];
    this.#work.clear();
    return kinds;
  }
}
