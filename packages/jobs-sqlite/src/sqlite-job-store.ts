import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  eventMatches,
  type Account,
  type AttemptOutcome,
  type AttemptRecord,
  type DatasetVersion,
  type NewDatasetVersion,
  type NewSchedule,
  type Schedule,
  type ScheduleKind,
  type VersionListQuery,
  type VersionLookup,
  type ClaimedDelivery,
  type Delivery,
  type DeliveryQuery,
  type DeliveryState,
  type DownloadRecord,
  type Endpoint,
  type EndpointPatch,
  type EventQuery,
  type ExportJob,
  type ExportResult,
  type JobStore,
  type NewDelivery,
  type NewEndpoint,
  type NewEvent,
  type NewExportJob,
  type SigningScheme,
} from '@ferry/core';
import { MIGRATIONS } from './schema.js';
import { toAttempt, toDelivery, toEndpoint, toEvent, toExport, type Row } from './rows.js';
import { toDatasetVersion, toSchedule } from './version-rows.js';

export interface SqliteJobStoreOptions {
  /** Database file, or `:memory:`. */
  file: string;
  /** Clock, injectable so lease expiry can be tested without waiting. */
  now?: () => number;
}

const DELIVERY_COLUMNS = `d.*, e.url AS url`;

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
      this.#db
        .transaction(() => {
          this.#db.exec(MIGRATIONS[v]!);
          this.#db.pragma(`user_version = ${v + 1}`);
        })
        .immediate();
    }
  }

  readonly #statements = new Map<string, Database.Statement>();

  /** Prepared once per SQL text: compiling a statement costs more than running a small one. */
  #sql(sql: string): Database.Statement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #tx<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  // ------------------------------------------------------------ accounts and settings

  async createAccount(): Promise<Account> {
    const info = this.#sql('INSERT INTO accounts (created_at) VALUES (?)').run(this.#now());
    return { id: Number(info.lastInsertRowid) };
  }

  async registerApiKey(keyHash: string, account?: Account): Promise<Account> {
    return this.#tx((): Account => {
      const existing = this.#sql('SELECT account_id FROM api_keys WHERE key_hash = ?').get(keyHash) as Row | undefined;
      if (existing) return { id: Number(existing.account_id) };
      // Without an account, a key belongs to the default account: the first one, created on first use.
      let id = account?.id ?? (this.#sql('SELECT id FROM accounts ORDER BY id LIMIT 1').get() as Row | undefined)?.id;
      if (id === undefined) id = this.#sql('INSERT INTO accounts (created_at) VALUES (?)').run(this.#now()).lastInsertRowid;
      this.#sql('INSERT INTO api_keys (key_hash, account_id, created_at) VALUES (?, ?, ?)').run(keyHash, id, this.#now());
      return { id: Number(id) };
    });
  }

  async findAccountByKeyHash(keyHash: string): Promise<Account | null> {
    const row = this.#sql('SELECT account_id FROM api_keys WHERE key_hash = ?').get(keyHash) as Row | undefined;
    return row ? { id: Number(row.account_id) } : null;
  }

  async countApiKeys(): Promise<number> {
    return Number((this.#sql('SELECT count(*) AS n FROM api_keys').get() as Row).n);
  }

  async getOrCreateSetting(name: string, create: () => string): Promise<string> {
    return this.#tx((): string => {
      const row = this.#sql('SELECT value FROM settings WHERE name = ?').get(name) as Row | undefined;
      if (row) return String(row.value);
      const value = create();
      this.#sql('INSERT INTO settings (name, value) VALUES (?, ?)').run(name, value);
      return value;
    });
  }

  // ------------------------------------------------------------ exports

  async enqueueExport(job: NewExportJob, events: NewEvent[]): Promise<ExportJob> {
    const at = job.requestedAt.getTime();
    this.#tx(() => {
      this.#db
        .prepare(
          `INSERT INTO exports (id, account_id, name, format, compression, webhook_url, endpoint_id, dataset_key, query, hmac_signature,
             notify_on_failure, split, state, requested_at, run_after, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
        )
        .run(
          job.id,
          job.accountId,
          job.name,
          job.format,
          job.compression,
          job.webhookUrl,
          job.endpointId,
          job.datasetKey,
          JSON.stringify(job.query),
          job.hmacSignature,
          job.notifyOnFailure ? 1 : 0,
          job.split === null ? null : JSON.stringify(job.split),
          at,
          at,
          at,
        );
      this.#insertEvents(events);
    });
    return (await this.getExport(job.id))!;
  }

  async getExport(id: string): Promise<ExportJob | null> {
    const row = this.#sql('SELECT * FROM exports WHERE id = ?').get(id) as Row | undefined;
    return row ? toExport(row) : null;
  }

  async claimExport(owner: string, leaseMs: number): Promise<ExportJob | null> {
    const now = this.#now();
    return this.#tx((): ExportJob | null => {
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
             started_at = ?, updated_at = ?, progress_rows = 0, progress_bytes = 0
           WHERE id = ?`,
        )
        .run(owner, now + leaseMs, now, now, row.id);
      return toExport(this.#sql('SELECT * FROM exports WHERE id = ?').get(row.id) as Row);
    });
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

  async completeExport(id: string, owner: string, result: ExportResult, deliveries: NewDelivery[], events: NewEvent[]): Promise<boolean> {
    return this.#tx((): boolean => {
      const finished = result.finishedAt.getTime();
      const info = this.#db
        .prepare(
          `UPDATE exports SET state = 'completed', finished_at = ?, updated_at = ?, result = ?, expires_at = ?, lease_owner = NULL,
             lease_until = NULL, progress_rows = ?, progress_bytes = ?, error = NULL
           WHERE id = ? AND lease_owner = ? AND state = 'running'`,
        )
        .run(finished, finished, JSON.stringify(result), result.expiresAt.getTime(), result.numberRows, result.bytes, id, owner);
      if (info.changes !== 1) return false;
      for (const d of deliveries) this.#insertDelivery(d);
      this.#insertEvents(events);
      return true;
    });
  }

  async failExport(
    id: string,
    owner: string,
    reason: string,
    retry: { retryAt: Date } | { events: NewEvent[]; deliveries?: NewDelivery[] },
  ): Promise<void> {
    const now = this.#now();
    this.#tx(() => {
      if ('retryAt' in retry) {
        this.#db
          .prepare(
            `UPDATE exports SET state = 'queued', run_after = ?, error = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL
             WHERE id = ? AND lease_owner = ?`,
          )
          .run(retry.retryAt.getTime(), reason, now, id, owner);
        return;
      }
      const info = this.#db
        .prepare(
          `UPDATE exports SET state = 'failed', finished_at = ?, updated_at = ?, error = ?, lease_owner = NULL, lease_until = NULL
           WHERE id = ? AND lease_owner = ?`,
        )
        .run(now, now, reason, id, owner);
      if (info.changes !== 1) return;
      for (const d of retry.deliveries ?? []) this.#insertDelivery(d);
      this.#insertEvents(retry.events);
    });
  }

  async releaseExport(id: string, owner: string): Promise<void> {
    const now = this.#now();
    this.#db
      .prepare(
        `UPDATE exports SET state = 'queued', run_after = ?, updated_at = ?, attempts = max(attempts - 1, 0), lease_owner = NULL,
           lease_until = NULL, progress_rows = 0, progress_bytes = 0
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(now, now, id, owner);
  }

  async cancelExport(id: string, reason: string, events: NewEvent[]): Promise<boolean> {
    const now = this.#now();
    return this.#tx((): boolean => {
      const info = this.#sql(
        `UPDATE exports SET state = 'failed', error = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND state IN ('queued', 'running')`,
      ).run(reason, now, id);
      if (info.changes !== 1) return false;
      this.#insertEvents(events);
      return true;
    });
  }

  // ------------------------------------------------------------ endpoints

  async ensureImplicitEndpoint(accountId: number, url: string, scheme: SigningScheme, createSecret: () => string | null): Promise<Endpoint> {
    const now = this.#now();
    return this.#tx((): Endpoint => {
      const row = this.#db
        .prepare('SELECT * FROM endpoints WHERE account_id = ? AND url = ? AND scheme = ? AND registered = 0')
        .get(accountId, url, scheme) as Row | undefined;
      if (row) {
        // Asking for exports to a URL again is the client saying it is back: re-enable it.
        if (Number(row.enabled) === 0) {
          this.#db
            .prepare('UPDATE endpoints SET enabled = 1, disabled_reason = NULL, failing_since = NULL, updated_at = ? WHERE id = ?')
            .run(now, row.id);
        }
        return toEndpoint(this.#sql('SELECT * FROM endpoints WHERE id = ?').get(row.id) as Row, now);
      }
      const id = `ep_${randomBytes(12).toString('base64url')}`;
      this.#insertEndpoint({ id, accountId, url, scheme, secret: createSecret(), events: null, description: null, registered: false, scheduleMs: null });
      return toEndpoint(this.#sql('SELECT * FROM endpoints WHERE id = ?').get(id) as Row, now);
    });
  }

  #insertEndpoint(e: NewEndpoint): void {
    const now = this.#now();
    this.#db
      .prepare(
        `INSERT INTO endpoints (id, account_id, url, scheme, secrets, events, description, registered, schedule, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.id,
        e.accountId,
        e.url,
        e.scheme,
        JSON.stringify(e.secret === null ? [] : [{ value: e.secret, expiresAt: null }]),
        e.events === null ? null : JSON.stringify(e.events),
        e.description,
        e.registered ? 1 : 0,
        e.scheduleMs === null ? null : JSON.stringify(e.scheduleMs),
        now,
        now,
      );
  }

  async createEndpoint(endpoint: NewEndpoint): Promise<Endpoint> {
    this.#insertEndpoint(endpoint);
    return (await this.getEndpoint(endpoint.id))!;
  }

  async getEndpoint(id: string): Promise<Endpoint | null> {
    const row = this.#sql('SELECT * FROM endpoints WHERE id = ?').get(id) as Row | undefined;
    return row ? toEndpoint(row, this.#now()) : null;
  }

  async listEndpoints(accountId: number): Promise<Endpoint[]> {
    const rows = this.#sql('SELECT * FROM endpoints WHERE account_id = ? AND registered = 1 ORDER BY created_at, id').all(accountId) as Row[];
    return rows.map((r) => toEndpoint(r, this.#now()));
  }

  async updateEndpoint(id: string, patch: EndpointPatch): Promise<Endpoint | null> {
    const sets: string[] = [];
    const values: unknown[] = [];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      values.push(value);
    };
    if (patch.url !== undefined) set('url', patch.url);
    if (patch.events !== undefined) set('events', JSON.stringify(patch.events));
    if (patch.description !== undefined) set('description', patch.description);
    if (patch.scheduleMs !== undefined) set('schedule', patch.scheduleMs === null ? null : JSON.stringify(patch.scheduleMs));
    if (patch.enabled !== undefined) {
      set('enabled', patch.enabled ? 1 : 0);
      set('disabled_reason', patch.enabled ? null : 'disabled by the account');
      if (patch.enabled) set('failing_since', null);
    }
    set('updated_at', this.#now());
    this.#sql(`UPDATE endpoints SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    return this.getEndpoint(id);
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    return this.#tx((): boolean => {
      this.#db
        .prepare(`UPDATE deliveries SET state = 'failed', last_error = 'endpoint deleted', lease_owner = NULL WHERE endpoint_id = ? AND state = 'pending'`)
        .run(id);
      return this.#sql('DELETE FROM endpoints WHERE id = ?').run(id).changes === 1;
    });
  }

  async rotateEndpointSecret(id: string, secret: string, previousExpiresAt: Date): Promise<Endpoint | null> {
    const now = this.#now();
    return this.#tx((): Endpoint | null => {
      const row = this.#sql('SELECT secrets FROM endpoints WHERE id = ?').get(id) as Row | undefined;
      if (!row) return null;
      const old = JSON.parse(String(row.secrets)) as Array<{ value: string; expiresAt: number | null }>;
      const kept = old
        .map((s) => ({ value: s.value, expiresAt: Math.min(s.expiresAt ?? Infinity, previousExpiresAt.getTime()) }))
        .filter((s) => s.expiresAt > now);
      const secrets = [{ value: secret, expiresAt: null }, ...kept];
      this.#sql('UPDATE endpoints SET secrets = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(secrets), now, id);
      return toEndpoint(this.#sql('SELECT * FROM endpoints WHERE id = ?').get(id) as Row, now);
    });
  }

  // ------------------------------------------------------------ events (the outbox's input)

  async emitEvents(events: NewEvent[]): Promise<void> {
    this.#tx(() => this.#insertEvents(events));
  }

  /** Store events and queue one delivery per subscribed, enabled, registered endpoint. Call inside a transaction. */
  #insertEvents(events: readonly NewEvent[]): void {
    if (events.length === 0) return;
    const insert = this.#sql('INSERT OR IGNORE INTO events (id, account_id, type, created_at, export_id, body) VALUES (?, ?, ?, ?, ?, ?)');
    const subscribers = this.#sql('SELECT id, events FROM endpoints WHERE account_id = ? AND registered = 1 AND enabled = 1');
    for (const event of events) {
      // An event id is committed once: a retried transition re-emitting it does not fan out twice.
      if (insert.run(event.id, event.accountId, event.type, event.created.getTime(), event.exportId, event.body).changes === 0) continue;
      for (const endpoint of subscribers.all(event.accountId) as Row[]) {
        if (!eventMatches(JSON.parse(String(endpoint.events)) as string[], event.type)) continue;
        this.#insertDelivery({
          id: `dlv_${randomBytes(12).toString('base64url')}`,
          accountId: event.accountId,
          endpointId: String(endpoint.id),
          messageId: event.id,
          exportId: event.exportId,
          eventType: event.type,
          body: event.body,
          headers: {},
        });
      }
    }
  }

  async listEvents(accountId: number, query: EventQuery): Promise<NewEvent[]> {
    const where = ['account_id = ?'];
    const values: unknown[] = [accountId];
    if (query.type) {
      if (query.type.endsWith('.*')) {
        where.push('type LIKE ?');
        values.push(`${query.type.slice(0, -1).replace(/[%_\\]/g, '\\$&')}%`);
        where[where.length - 1] += " ESCAPE '\\'";
      } else {
        where.push('type = ?');
        values.push(query.type);
      }
    }
    if (query.since) {
      where.push('created_at >= ?');
      values.push(query.since.getTime());
    }
    if (query.startingAfter) {
      where.push('seq > coalesce((SELECT seq FROM events WHERE id = ?), 0)');
      values.push(query.startingAfter);
    }
    const rows = this.#sql(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...values, query.limit) as Row[];
    return rows.map(toEvent);
  }

  // ------------------------------------------------------------ deliveries

  #insertDelivery(d: NewDelivery): void {
    const now = this.#now();
    this.#db
      .prepare(
        `INSERT OR IGNORE INTO deliveries (id, account_id, endpoint_id, message_id, export_id, event_type, body, headers, state, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      )
      .run(d.id, d.accountId, d.endpointId, d.messageId, d.exportId, d.eventType, d.body, JSON.stringify(d.headers), now, now);
  }

  async claimDeliveries(owner: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    return this.settleAndClaim(owner, [], limit, leaseMs);
  }

  async settleAndClaim(owner: string, outcomes: AttemptOutcome[], limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    // A lease need not survive a power cut (the delivery just becomes due again), so a claim alone
    // skips the fsync; recorded attempts must survive one, so a batch with outcomes keeps it.
    if (outcomes.length === 0) this.#db.pragma('synchronous = NORMAL');
    try {
      return this.#tx(() => {
        this.#record(owner, outcomes);
        return limit > 0 ? this.#claim(owner, limit, leaseMs) : [];
      });
    } finally {
      if (outcomes.length === 0) this.#db.pragma('synchronous = FULL');
    }
  }

  #claim(owner: string, limit: number, leaseMs: number): ClaimedDelivery[] {
    const now = this.#now();
    const rows = this.#sql(
      `UPDATE deliveries SET lease_owner = ?, lease_until = ?
       WHERE id IN (SELECT id FROM deliveries
                    WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                    ORDER BY next_attempt_at LIMIT ?)
       RETURNING *`,
    ).all(owner, now + leaseMs, now, now, limit) as Row[];
    const endpointRow = this.#sql('SELECT * FROM endpoints WHERE id = ?');
    // Many deliveries share an endpoint: read each once per claim.
    const endpoints = new Map<string, Endpoint>();
    return rows.map((row) => {
      const id = String(row.endpoint_id);
      let endpoint = endpoints.get(id);
      if (!endpoint) {
        endpoint = toEndpoint(endpointRow.get(id) as Row, now);
        endpoints.set(id, endpoint);
      }
      return { ...toDelivery({ ...row, url: endpoint.url }), retryIndex: Number(row.retry_index), endpoint };
    });
  }

  async recordAttempts(owner: string, outcomes: AttemptOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    this.#tx(() => this.#record(owner, outcomes));
  }

  #record(owner: string, outcomes: AttemptOutcome[]): void {
    if (outcomes.length === 0) return;
    const now = this.#now();
    // Guarded by the lease: a worker that lost it records nothing, the new owner records its own attempt.
    const advance = this.#sql(
      `UPDATE deliveries SET attempts = attempts + 1, retry_index = retry_index + 1, state = ?, next_attempt_at = ?, last_error = ?,
         last_status = ?, lease_owner = NULL, lease_until = NULL
       WHERE id = ? AND lease_owner = ?
       RETURNING attempts, endpoint_id`,
    );
    const logAttempt = this.#sql(
      `INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, status, error, response_body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    // Endpoint health changes once per batch: its latest outcome decides.
    const health = new Map<string, { ok: boolean; at: number }>();
    for (const o of outcomes) {
      const a = o.attempt;
      const next = o.next.state === 'pending' ? o.next.nextAttemptAt.getTime() : now;
      const row = advance.get(o.next.state, next, a.error, a.status, o.deliveryId, owner) as Row | undefined;
      if (!row) continue;
      logAttempt.run(o.deliveryId, row.attempts, a.at.getTime(), a.durationMs, a.status, a.error, a.responseBody);
      const endpointId = String(row.endpoint_id);
      const ok = o.next.state === 'succeeded';
      const seen = health.get(endpointId);
      if (!seen || seen.at <= a.at.getTime()) health.set(endpointId, { ok, at: seen && !seen.ok && !ok ? seen.at : a.at.getTime() });
      if (o.disableEndpoint && this.#sql('UPDATE endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1').run(o.disableEndpoint.reason, now, endpointId).changes === 1) {
        this.#insertEvents([o.disableEndpoint.event]);
      }
    }
    const healthy = this.#sql('UPDATE endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL');
    const failing = this.#sql('UPDATE endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL');
    for (const [id, h] of health) {
      if (h.ok) healthy.run(id);
      else failing.run(h.at, id);
    }
  }

  async getDelivery(id: string): Promise<(Delivery & { attemptLog: AttemptRecord[] }) | null> {
    const row = this.#sql(`SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = ?`).get(id) as
      | Row
      | undefined;
    if (!row) return null;
    const attempts = this.#sql('SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY n').all(id) as Row[];
    return { ...toDelivery(row), attemptLog: attempts.map(toAttempt) };
  }

  async listDeliveries(accountId: number, query: DeliveryQuery): Promise<Delivery[]> {
    const where = ['d.account_id = ?'];
    const values: unknown[] = [accountId];
    if (query.state) {
      where.push('d.state = ?');
      values.push(query.state);
    }
    if (query.endpointId) {
      where.push('d.endpoint_id = ?');
      values.push(query.endpointId);
    }
    if (query.since) {
      where.push('d.created_at >= ?');
      values.push(query.since.getTime());
    }
    if (query.startingAfter) {
      where.push('d.seq > coalesce((SELECT seq FROM deliveries WHERE id = ?), 0)');
      values.push(query.startingAfter);
    }
    const rows = this.#db
      .prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE ${where.join(' AND ')} ORDER BY d.seq LIMIT ?`)
      .all(...values, query.limit) as Row[];
    return rows.map(toDelivery);
  }

  async redeliver(id: string): Promise<boolean> {
    const info = this.#db
      .prepare(`UPDATE deliveries SET state = 'pending', retry_index = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`)
      .run(this.#now(), id);
    return info.changes === 1;
  }

  async recoverDeliveries(accountId: number, since: Date): Promise<number> {
    const info = this.#db
      .prepare(
        `UPDATE deliveries SET state = 'pending', retry_index = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
         WHERE account_id = ? AND state = 'failed' AND created_at >= ?`,
      )
      .run(this.#now(), accountId, since.getTime());
    return info.changes;
  }

  async deliveryCounts(accountId: number): Promise<Record<DeliveryState, number>> {
    const counts: Record<DeliveryState, number> = { pending: 0, succeeded: 0, failed: 0 };
    const rows = this.#sql('SELECT state, count(*) AS n FROM deliveries WHERE account_id = ? GROUP BY state').all(accountId) as Row[];
    for (const r of rows) counts[r.state as DeliveryState] = Number(r.n);
    return counts;
  }

  // ------------------------------------------------------------ downloads

  async recordDownload(d: DownloadRecord, events: NewEvent[]): Promise<void> {
    this.#tx(() => {
      this.#db
        .prepare('INSERT INTO downloads (export_id, at, bytes, client, range) VALUES (?, ?, ?, ?, ?)')
        .run(d.exportId, d.at.getTime(), d.bytes, d.client, d.range);
      this.#sql('UPDATE exports SET downloads = downloads + 1, updated_at = ? WHERE id = ?').run(d.at.getTime(), d.exportId);
      this.#insertEvents(events);
    });
  }

  async listExpiredExports(before: Date, limit: number): Promise<ExportJob[]> {
    const rows = this.#sql(`SELECT * FROM exports WHERE state = 'completed' AND expires_at <= ? ORDER BY expires_at LIMIT ?`).all(
      before.getTime(),
      limit,
    ) as Row[];
    return rows.map(toExport);
  }

  async markExportExpired(id: string): Promise<void> {
    this.#sql(`UPDATE exports SET state = 'expired', updated_at = ? WHERE id = ? AND state = 'completed'`).run(this.#now(), id);
  }

  async purgeEvents(before: Date): Promise<number> {
    return this.#sql('DELETE FROM events WHERE created_at < ?').run(before.getTime()).changes;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  // ------------------------------------------------------------ dataset versions and schedules (docs/versions.md)

  async recordDatasetVersion(v: NewDatasetVersion, events: (accountIds: readonly number[]) => NewEvent[]): Promise<DatasetVersion | null> {
    const recorded = this.#tx((): boolean => {
      // The version before this one must be the one the delta was computed against.
      const latest = this.#sql('SELECT version_number, cursor FROM dataset_versions WHERE dataset_key = ? ORDER BY version_number DESC LIMIT 1').get(
        v.datasetKey,
      ) as Row | undefined;
      const expected = latest ? { n: Number(latest.version_number) + 1, previous: String(latest.cursor) } : { n: 1, previous: null };
      if (v.versionNumber !== expected.n || v.previousCursor !== expected.previous) return false;
      this.#sql(
        `INSERT INTO dataset_versions (dataset_key, version_number, cursor, previous_cursor, changed_row_count, row_count, counters,
           published_at, snapshot_key, delta_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        v.datasetKey,
        v.versionNumber,
        v.cursor,
        v.previousCursor,
        v.changedRowCount,
        v.rowCount,
        JSON.stringify(v.counters),
        v.publishedAt.getTime(),
        v.snapshotKey,
        v.deltaKey,
      );
      const accounts = (this.#sql('SELECT id FROM accounts ORDER BY id').all() as Row[]).map((r) => Number(r.id));
      this.#insertEvents(events(accounts));
      return true;
    });
    return recorded ? this.findDatasetVersion(v.datasetKey, { cursor: v.cursor }) : null;
  }

  async findDatasetVersion(datasetKey: string, lookup: VersionLookup): Promise<DatasetVersion | null> {
    const row = (
      'cursor' in lookup
        ? this.#sql('SELECT * FROM dataset_versions WHERE dataset_key = ? AND cursor = ?').get(datasetKey, lookup.cursor)
        : 'versionNumber' in lookup
          ? this.#sql('SELECT * FROM dataset_versions WHERE dataset_key = ? AND version_number = ?').get(datasetKey, lookup.versionNumber)
          : this.#sql('SELECT * FROM dataset_versions WHERE dataset_key = ? ORDER BY version_number DESC LIMIT 1').get(datasetKey)
    ) as Row | undefined;
    return row ? toDatasetVersion(row) : null;
  }

  async listDatasetVersions(datasetKey: string, q: VersionListQuery): Promise<DatasetVersion[]> {
    const rows = this.#sql(
      `SELECT * FROM dataset_versions WHERE dataset_key = ? AND version_number > ? AND version_number <= ?
       ORDER BY version_number ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
    ).all(datasetKey, q.afterVersion ?? 0, q.throughVersion ?? Number.MAX_SAFE_INTEGER, q.limit) as Row[];
    return rows.map(toDatasetVersion);
  }

  async markDatasetVersionPruned(datasetKey: string, versionNumber: number): Promise<void> {
    this.#sql('UPDATE dataset_versions SET pruned_at = ? WHERE dataset_key = ? AND version_number = ? AND pruned_at IS NULL').run(
      this.#now(),
      datasetKey,
      versionNumber,
    );
  }

  async upsertSchedule(s: NewSchedule): Promise<Schedule> {
    this.#tx(() => {
      const existing = this.#sql('SELECT cron FROM schedules WHERE id = ?').get(s.id) as Row | undefined;
      if (!existing) {
        this.#sql(
          `INSERT INTO schedules (id, kind, account_id, name, dataset_key, cron, body, next_run_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(s.id, s.kind, s.accountId, s.name, s.datasetKey, s.cron, JSON.stringify(s.body), s.nextRunAt.getTime(), this.#now());
        return;
      }
      // A restart with the same cron keeps the pending tick; a new cron starts from the new next run.
      const keepTick = String(existing.cron) === s.cron;
      this.#sql(
        `UPDATE schedules SET kind = ?, account_id = ?, name = ?, dataset_key = ?, cron = ?, body = ?,
           next_run_at = CASE WHEN ? THEN next_run_at ELSE ? END
         WHERE id = ?`,
      ).run(s.kind, s.accountId, s.name, s.datasetKey, s.cron, JSON.stringify(s.body), keepTick ? 1 : 0, s.nextRunAt.getTime(), s.id);
    });
    return (await this.getSchedule(s.id))!;
  }

  async getSchedule(id: string): Promise<Schedule | null> {
    const row = this.#sql('SELECT * FROM schedules WHERE id = ?').get(id) as Row | undefined;
    return row ? toSchedule(row) : null;
  }

  async listSchedules(filter: { accountId?: number; kind?: ScheduleKind }): Promise<Schedule[]> {
    const rows = this.#sql(
      `SELECT * FROM schedules WHERE (? IS NULL OR account_id = ?) AND (? IS NULL OR kind = ?) ORDER BY created_at, id`,
    ).all(filter.accountId ?? null, filter.accountId ?? null, filter.kind ?? null, filter.kind ?? null) as Row[];
    return rows.map(toSchedule);
  }

  async deleteSchedule(id: string): Promise<boolean> {
    return this.#sql('DELETE FROM schedules WHERE id = ?').run(id).changes === 1;
  }

  async listDueSchedules(now: Date, limit: number): Promise<Schedule[]> {
    const rows = this.#sql('SELECT * FROM schedules WHERE next_run_at <= ? ORDER BY next_run_at, id LIMIT ?').all(now.getTime(), limit) as Row[];
    return rows.map(toSchedule);
  }

  async claimScheduleTick(id: string, tick: Date, next: Date, at: Date): Promise<boolean> {
    // Compare-and-set in one statement: of several schedulers that saw the same tick, one wins.
    const info = this.#sql('UPDATE schedules SET next_run_at = ?, last_run_at = ? WHERE id = ? AND next_run_at = ?').run(
      next.getTime(),
      at.getTime(),
      id,
      tick.getTime(),
    );
    return info.changes === 1;
  }
}
