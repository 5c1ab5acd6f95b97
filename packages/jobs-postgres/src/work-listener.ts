import pg from 'pg';
import type { Logger, WorkKind } from '@ferry/core';
import { redact } from './connection.js';
import { quoteIdent, WORK_KINDS, workChannel } from './session.js';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;

/**
 * LISTEN for new work on one dedicated connection (a pooled one would be returned and reused, and
 * its LISTEN with it). Connected on the first subscription; when the connection drops it comes
 * back with exponential backoff, and every listener is called once on reconnecting, since work
 * may have been committed while nobody listened. Listeners are a hint: workers still poll.
 */
export class WorkListener {
  readonly #listeners = new Map<WorkKind, Set<() => void>>(WORK_KINDS.map((k) => [k, new Set()]));
  readonly #kindByChannel: Map<string, WorkKind>;
  #client: pg.Client | null = null;
  #connecting: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryMs = FIRST_RETRY_MS;
  #closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly schema: string,
    private readonly logger: Logger,
    private readonly secrets: readonly string[],
  ) {
    this.#kindByChannel = new Map(WORK_KINDS.map((k) => [workChannel(schema, k), k]));
  }

  subscribe(kind: WorkKind, listener: () => void): () => void {
    const set = this.#listeners.get(kind)!;
    set.add(listener);
    if (!this.#client && !this.#connecting && !this.#retryTimer && !this.#closed) this.#connect();
    return () => {
      set.delete(listener);
    };
  }

  /** The backend process id of the LISTEN connection, while connected (for diagnostics and tests). */
  get backendPid(): number | null {
    return (this.#client as (pg.Client & { processID?: number }) | null)?.processID ?? null;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  #connect(): void {
    const client = new pg.Client(this.config);
    let dropped = false;
    const drop = (reason: unknown): void => {
      if (dropped) return;
      dropped = true;
      if (this.#client === client) this.#client = null;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.#closed) return;
      const message = reason instanceof Error ? reason.message : String(reason);
      this.logger.warn({ schema: this.schema, retryInMs: this.#retryMs, err: redact(message, this.secrets) }, 'job store LISTEN connection lost; reconnecting');
      this.#scheduleReconnect();
    };
    client.on('error', drop);
    client.on('end', () => drop(new Error('connection ended')));
    client.on('notification', (msg) => {
      const kind = this.#kindByChannel.get(msg.channel);
      if (kind) this.#notify(kind);
    });
    this.#connecting = (async () => {
      try {
        await client.connect();
        for (const channel of this.#kindByChannel.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
        if (this.#closed || dropped) {
          await client.end().catch(() => undefined);
          return;
        }
        const reconnected = this.#retryMs !== FIRST_RETRY_MS;
        this.#client = client;
        this.#retryMs = FIRST_RETRY_MS;
        if (reconnected) for (const kind of WORK_KINDS) this.#notify(kind);
      } catch (err) {
        drop(err);
      } finally {
        this.#connecting = null;
      }
    })();
  }

  #scheduleReconnect(): void {
    if (this.#retryTimer || this.#closed) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#closed) this.#connect();
    }, delay);
    // A pending reconnect must not keep the process alive on its own.
    this.#retryTimer.unref();
  }

  #notify(kind: WorkKind): void {
    for (const listener of [...this.#listeners.get(kind)!]) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err: err instanceof Error ? err.message : String(err), kind }, 'job store work listener threw');
      }
    }
  }
}
