import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  Account,
  AttemptRecord,
  Delivery,
  DownloadRecord,
  ExportJob,
  ExportResult,
  JobStore,
  NewDelivery,
  NewExportJob,
} from '@ferry/core';
import { MIGRATIONS } from './schema.js';

type Row = Record<string, unknown>;

const date = (ms: unknown): Date | null => (ms === null || ms === undefined ? null : new Date(Number(ms)));

function toExport(row: Row): ExportJob {
  const result = row.result ? (JSON.parse(String(row.result)) as ExportResult & { finishedAt: string; expiresAt: string }) : null;
  return {
    id: String(row.id),
    accountId: Number(row.account_id),
    name: String(row.name),
    format: row.format as ExportJob['format'],
    webhookUrl: String(row.webhook_url),
    datasetKey: String(row.dataset_key),
    query: JSON.parse(String(row.query)),
    hmacSignature: String(row.hmac_signature),
    requestedAt: new Date(Number(row.requested_at)),
    state: row.state as ExportJob['state'],
    attempts: Number(row.attempts),
    startedAt: date(row.started_at),
    finishedAt: date(row.finished_at),
    progressRows: Number(row.progress_rows),
    progressBytes: Number(row.progress_bytes),
    result: result && { ...result, finishedAt: new Date(result.finishedAt), expiresAt: new Date(result.expiresAt) },
    error: row.error === null ? null : String(row.error),
    downloads: Number(row.downloads),
  };
}

function toDelivery(row: Row): Delivery {
  return {
    id: String(row.id),
    accountId: Number(row.account_id),
    exportId: row.export_id === null ? null : String(row.export_id),
    eventType: String(row.event_type),
    url: String(row.url),
    body: String(row.body),
    headers: JSON.parse(String(row.headers)) as Record<string, string>,
    state: row.state as Delivery['state'],
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(Number(row.next_attempt_at)),
    createdAt: new Date(Number(row.created_at)),
    lastError: row.last_error === null ? null : String(row.last_error),
  };
}

export interface SqliteJobStoreOptions {
  /** Database file, or `:memory:`. */
  file: string;
  /** Clock, injectable so lease expiry can be tested without waiting. */
  now?: () => number;
}

/**
 * JobStore on one SQLite file in WAL mode. better-sqlite3 is synchronous, so each method is one
 * short transaction; BEGIN IMMEDIATE makes claims safe across processes sharing the file.
 */
export class SqliteJobStore implements JobStore {
  readonly name = 'sqlite';
  readonly #db: Database.Database;
  readonly #now: () => number;

  constructor(options: SqliteJobStoreOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.#db = new Database(options.file);
    this.#now = options.now ?? Date.now;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('foreign_keys = ON');
    this.#migrate();
  }

  #migrate(): void {
    const version = Number(this.#db.pragma('user_version', { simple: true }));
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  async createAccount(): Promise<Account> {
    const info = this.#db.prepare('INSERT INTO accounts (created_at) VALUES (?)').run(this.#now());
    return { id: Number(info.lastInsertRowid) };
  }

  async registerApiKey(keyHash: string, account?: Account): Promise<Account> {
    return this.#db
      .transaction((): Account => {
        const existing = this.#db.prepare('SELECT account_id FROM api_keys WHERE key_hash = ?').get(keyHash) as Row | undefined;
        if (existing) return { id: Number(existing.account_id) };
        // Without an account, a key belongs to the default account: the first one, created on first use.
        let id = account?.id ?? (this.#db.prepare('SELECT id FROM accounts ORDER BY id LIMIT 1').get() as Row | undefined)?.id;
        if (id === undefined) id = this.#db.prepare('INSERT INTO accounts (created_at) VALUES (?)').run(this.#now()).lastInsertRowid;
        this.#db.prepare('INSERT INTO api_keys (key_hash, account_id, created_at) VALUES (?, ?, ?)').run(keyHash, id, this.#now());
        return { id: Number(id) };
      })
      .immediate();
  }

  async findAccountByKeyHash(keyHash: string): Promise<Account | null> {
    const row = this.#db.prepare('SELECT account_id FROM api_keys WHERE key_hash = ?').get(keyHash) as Row | undefined;
    return row ? { id: Number(row.account_id) } : null;
  }

  async countApiKeys(): Promise<number> {
    return Number((this.#db.prepare('SELECT count(*) AS n FROM api_keys').get() as Row).n);
  }

  async getOrCreateSetting(name: string, create: () => string): Promise<string> {
    return this.#db
      .transaction((): string => {
        const row = this.#db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as Row | undefined;
        if (row) return String(row.value);
        const value = create();
        this.#db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run(name, value);
        return value;
      })
      .immediate();
  }

  async enqueueExport(job: NewExportJob): Promise<ExportJob> {
    const at = job.requestedAt.getTime();
    this.#db
      .prepare(
        `INSERT INTO exports (id, account_id, name, format, webhook_url, dataset_key, query, hmac_signature, state, requested_at, run_after)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(job.id, job.accountId, job.name, job.format, job.webhookUrl, job.datasetKey, JSON.stringify(job.query), job.hmacSignature, at, at);
    return (await this.getExport(job.id))!;
  }

  async getExport(id: string): Promise<ExportJob | null> {
    const row = this.#db.prepare('SELECT * FROM exports WHERE id = ?').get(id) as Row | undefined;
    return row ? toExport(row) : null;
  }

  async claimExport(owner: string, leaseMs: number): Promise<ExportJob | null> {
    const now = this.#now();
    return this.#db
      .transaction((): ExportJob | null => {
        // A running job whose lease ran out belongs to a worker that died: it is claimable again.
        const row = this.#db
          .prepare(
            `SELECT id FROM exports
             WHERE (state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?)
             ORDER BY run_after, requested_at LIMIT 1`,
          )
          .get(now, now) as Row | undefined;
        if (!row) return null;
        this.#db
          .prepare(
            `UPDATE exports SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
               started_at = ?, progress_rows = 0, progress_bytes = 0
             WHERE id = ?`,
          )
          .run(owner, now + leaseMs, now, row.id);
        return toExport(this.#db.prepare('SELECT * FROM exports WHERE id = ?').get(row.id) as Row);
      })
      .immediate();
  }

  async heartbeatExport(id: string, owner: string, leaseMs: number, progress: { rows: number; bytes: number }): Promise<boolean> {
    const info = this.#db
      .prepare(
        `UPDATE exports SET lease_until = ?, progress_rows = ?, progress_bytes = ?
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(this.#now() + leaseMs, progress.rows, progress.bytes, id, owner);
    return info.changes === 1;
  }

  async completeExport(id: string, owner: string, result: ExportResult, deliveries: NewDelivery[]): Promise<boolean> {
    const now = this.#now();
    return this.#db
      .transaction((): boolean => {
        const info = this.#db
          .prepare(
            `UPDATE exports SET state = 'completed', finished_at = ?, result = ?, lease_owner = NULL, lease_until = NULL,
               progress_rows = ?, progress_bytes = ?, error = NULL
             WHERE id = ? AND lease_owner = ? AND state = 'running'`,
          )
          .run(result.finishedAt.getTime(), JSON.stringify(result), result.numberRows, result.bytes, id, owner);
        if (info.changes !== 1) return false;
        for (const d of deliveries) this.#insertDelivery(d, now);
        return true;
      })
      .immediate();
  }

  #insertDelivery(d: NewDelivery, now: number): void {
    this.#db
      .prepare(
        `INSERT INTO deliveries (id, account_id, export_id, event_type, url, body, headers, state, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      )
      .run(d.id, d.accountId, d.exportId, d.eventType, d.url, d.body, JSON.stringify(d.headers), now, now);
  }

  async failExport(id: string, owner: string, reason: string, retryAt?: Date): Promise<void> {
    const now = this.#now();
    if (retryAt) {
      this.#db
        .prepare(
          `UPDATE exports SET state = 'queued', run_after = ?, error = ?, lease_owner = NULL, lease_until = NULL
           WHERE id = ? AND lease_owner = ?`,
        )
        .run(retryAt.getTime(), reason, id, owner);
    } else {
      this.#db
        .prepare(
          `UPDATE exports SET state = 'failed', finished_at = ?, error = ?, lease_owner = NULL, lease_until = NULL
           WHERE id = ? AND lease_owner = ?`,
        )
        .run(now, reason, id, owner);
    }
  }

  async releaseExport(id: string, owner: string): Promise<void> {
    this.#db
      .prepare(
        `UPDATE exports SET state = 'queued', run_after = ?, attempts = max(attempts - 1, 0), lease_owner = NULL, lease_until = NULL,
           progress_rows = 0, progress_bytes = 0
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(this.#now(), id, owner);
  }

  async claimDeliveries(owner: string, limit: number, leaseMs: number): Promise<Delivery[]> {
    const now = this.#now();
    return this.#db
      .transaction((): Delivery[] => {
        const rows = this.#db
          .prepare(
            `SELECT * FROM deliveries
             WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
             ORDER BY next_attempt_at LIMIT ?`,
          )
          .all(now, now, limit) as Row[];
        const lease = this.#db.prepare('UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?');
        for (const row of rows) lease.run(owner, now + leaseMs, row.id);
        return rows.map(toDelivery);
      })
      .immediate();
  }

  async recordAttempt(
    id: string,
    owner: string,
    attempt: AttemptRecord,
    next: { state: 'succeeded' | 'failed' } | { state: 'pending'; nextAttemptAt: Date },
  ): Promise<void> {
    this.#db
      .transaction(() => {
        const row = this.#db.prepare('SELECT attempts FROM deliveries WHERE id = ? AND lease_owner = ?').get(id, owner) as Row | undefined;
        // Lost the lease: another worker owns this delivery now and will record its own attempt.
        if (!row) return;
        const n = Number(row.attempts) + 1;
        this.#db
          .prepare(
            `INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, status, error, response_body)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, n, attempt.at.getTime(), attempt.durationMs, attempt.status, attempt.error, attempt.responseBody);
        this.#db
          .prepare(
            `UPDATE deliveries SET attempts = ?, state = ?, next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
             WHERE id = ?`,
          )
          .run(n, next.state, next.state === 'pending' ? next.nextAttemptAt.getTime() : this.#now(), attempt.error, id);
      })
      .immediate();
  }

  async getDelivery(id: string): Promise<(Delivery & { attemptLog: AttemptRecord[] }) | null> {
    const row = this.#db.prepare('SELECT * FROM deliveries WHERE id = ?').get(id) as Row | undefined;
    if (!row) return null;
    const attempts = this.#db.prepare('SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY n').all(id) as Row[];
    return {
      ...toDelivery(row),
      attemptLog: attempts.map((a) => ({
        at: new Date(Number(a.at)),
        durationMs: Number(a.duration_ms),
        status: a.status === null ? null : Number(a.status),
        error: a.error === null ? null : String(a.error),
        responseBody: a.response_body === null ? null : String(a.response_body),
      })),
    };
  }

  async recordDownload(d: DownloadRecord): Promise<void> {
    this.#db
      .transaction(() => {
        this.#db
          .prepare('INSERT INTO downloads (export_id, at, bytes, client, range) VALUES (?, ?, ?, ?, ?)')
          .run(d.exportId, d.at.getTime(), d.bytes, d.client, d.range);
        this.#db.prepare('UPDATE exports SET downloads = downloads + 1 WHERE id = ?').run(d.exportId);
      })
      .immediate();
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
