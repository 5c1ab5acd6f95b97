import type pg from 'pg';
import type { Logger, WorkKind } from '@ferry/core';
import { redact } from './connection.js';
import { WORK_KINDS, workChannel } from './session.js';

/**
 * Announces new work with NOTIFY after the transaction that made it has committed, coalesced per
 * kind: while one NOTIFY is on its way, further announcements of that kind become a single next one.
 *
 * Why not NOTIFY inside the transaction: PostgreSQL serializes the commits of every transaction that
 * notified (they take one lock on the notification queue), so a NOTIFY per insert or per claim turned
 * N claiming processes into one (measured in docs/benchmarks.md, scale-out). Outside, a process sends
 * at most one per kind per round trip, and the listeners' wake-up still comes after the data is visible.
 * A process that dies between its commit and its NOTIFY costs a wake-up, not work: workers also poll.
 */
export class WorkSignals {
  readonly #pool: pg.Pool;
  readonly #channels: ReadonlyMap<WorkKind, string>;
  readonly #logger: Logger;
  readonly #secrets: readonly string[];
  /** Kinds with a NOTIFY on its way; `true` when another was asked for meanwhile. */
  readonly #sending = new Map<WorkKind, boolean>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(pool: pg.Pool, schema: string, logger: Logger, secrets: readonly string[]) {
    this.#pool = pool;
    this.#channels = new Map(WORK_KINDS.map((k) => [k, workChannel(schema, k)]));
    this.#logger = logger;
    this.#secrets = secrets;
  }

  /** Tell listening processes that `kind` has new work (call after it committed). */
  announce(kind: WorkKind): void {
    if (this.#closed) return;
    if (this.#sending.has(kind)) {
      this.#sending.set(kind, true);
      return;
    }
    this.#sending.set(kind, false);
    const sent = this.#send(kind);
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  async #send(kind: WorkKind): Promise<void> {
    const channel = this.#channels.get(kind)!;
    do {
      this.#sending.set(kind, false);
      try {
        await this.#pool.query('SELECT pg_notify($1, $2)', [channel, '']);
      } catch (err) {
        // Listeners fall back to polling; a lost wake-up delays work by one poll interval at most.
        this.#logger.warn({ err: redact(err instanceof Error ? err.message : String(err), this.#secrets), kind }, 'could not announce new work');
      }
    } while (this.#sending.get(kind) === true);
    this.#sending.delete(kind);
  }

  /** Send what was announced before (the pool must still be open); later announcements are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#inFlight]);
  }
}
