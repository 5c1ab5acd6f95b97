import pg from 'pg';
import { FerryError, isFerryError, type Logger } from '@ferry/core';
import { redact } from './connection.js';

export const PLUGIN = 'source:postgres';

/** The connection itself failed (class 08, or the socket): the server may be back in a moment. */
const CONNECTION_SQLSTATE = /^08/;
const CONNECTION_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * SQLSTATEs the same query meets on every attempt: syntax error or undefined object (42), data
 * exception (22), invalid authorization (28: a missing role, a wrong password), no such database
 * or schema (3D, 3F). Everything else (serialization failure 40001, deadlock 40P01, insufficient
 * resources 53, operator intervention 57, an unknown class) may pass on another attempt.
 */
const PERMANENT_SQLSTATE = /^(42|22|28|3D|3F)/;

/**
 * Any failure as a FerryError whose message cannot carry a secret (no `cause`: a driver error may
 * hold the config): TRANSIENT when the connection failed, else QUERY_FAILED saying with `retryable`
 * whether another attempt can help.
 */
export function queryFailed(err: unknown, secrets: readonly string[]): FerryError {
  if (isFerryError(err)) return err;
  const message = redact(err instanceof Error ? err.message : String(err), secrets);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code))) {
    return new FerryError('TRANSIENT', `PostgreSQL query failed: ${message}`, { plugin: PLUGIN });
  }
  const permanent = typeof code === 'string' && PERMANENT_SQLSTATE.test(code);
  return new FerryError('QUERY_FAILED', `PostgreSQL query failed: ${message}`, { plugin: PLUGIN, retryable: !permanent });
}

/** The abort reason as the error to throw: the engine aborts with a FerryError ABORTED already. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new FerryError('ABORTED', 'the query was aborted', { plugin: PLUGIN });
}

export interface SessionDeps {
  config: pg.ClientConfig;
  secrets: readonly string[];
  logger: Logger;
}

/**
 * One checked-out connection for one query. While a statement runs, an abort cancels it on the
 * server (`pg_cancel_backend` from a second connection: closing our socket alone would leave a
 * long query running until it next writes). After an abort or error the connection is destroyed
 * rather than returned, so no half-read portal ever goes back to the pool.
 */
export class Session {
  #inFlight = false;
  #released = false;
  readonly #onAbort = (): void => {
    if (this.#inFlight) void this.cancel();
  };

  constructor(
    readonly client: pg.PoolClient,
    readonly pid: number,
    readonly signal: AbortSignal,
    private readonly deps: SessionDeps,
    private readonly onRelease: () => void,
  ) {
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Run one statement round trip; an abort meanwhile cancels it and rejects with the abort reason. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.checkpoint();
    this.#inFlight = true;
    try {
      return await fn();
    } catch (err) {
      throw this.signal.aborted ? abortError(this.signal) : queryFailed(err, this.deps.secrets);
    } finally {
      this.#inFlight = false;
    }
  }

  checkpoint(): void {
    if (this.signal.aborted) throw abortError(this.signal);
  }

  /** Ask the server to cancel whatever this backend runs. Best effort: failures are logged, redacted. */
  async cancel(): Promise<void> {
    const canceller = new pg.Client({ ...this.deps.config, statement_timeout: 10_000 });
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [this.pid]);
    } catch (err) {
      this.deps.logger.warn({ pid: this.pid, err: queryFailed(err, this.deps.secrets).message }, 'postgres: cancelling a query failed');
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }

  /** Give the connection back (clean) or destroy it (`broken`). Idempotent. */
  release(broken: boolean): void {
    if (this.#released) return;
    this.#released = true;
    this.signal.removeEventListener('abort', this.#onAbort);
    this.client.release(broken ? true : undefined);
    this.onRelease();
  }
}
