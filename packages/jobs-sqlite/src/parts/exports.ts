import {
  ExportState,
  type DownloadRecord,
  type ExportClaim,
  type ExportJob,
  type ExportListQuery,
  type ExportResult,
  type ExportsPart,
  type NewExportJob,
  type QueueStats,
} from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { bool, date, dateOrNull, int, json, jsonOrNull, ms, text, textOrNull, toJsonOrNull, type Row } from './columns.js';

type StoredResult = Omit<ExportResult, 'finishedAt' | 'expiresAt'> & { finishedAt: string; expiresAt: string };

function toResult(value: unknown): ExportResult | null {
  const stored = jsonOrNull<StoredResult>(value);
  return stored && { ...stored, finishedAt: new Date(stored.finishedAt), expiresAt: new Date(stored.expiresAt) };
}

export function toExport(row: Row): ExportJob {
  return {
    id: text(row.id),
    accountId: int(row.account_id),
    name: text(row.name),
    format: text(row.format),
    compression: row.compression as ExportJob['compression'],
    webhookUrl: text(row.webhook_url),
    endpointId: text(row.endpoint_id),
    datasetKey: text(row.dataset_key),
    query: json<unknown>(row.query),
    hmacSignature: text(row.hmac_signature),
    requestedAt: date(row.requested_at),
    notifyOnFailure: bool(row.notify_on_failure),
    split: jsonOrNull<NonNullable<ExportJob['split']>>(row.split),
    state: row.state as ExportState,
    attempts: int(row.attempts),
    startedAt: dateOrNull(row.started_at),
    finishedAt: dateOrNull(row.finished_at),
    updatedAt: date(row.updated_at),
    progressRows: int(row.progress_rows),
    progressBytes: int(row.progress_bytes),
    result: toResult(row.result),
    error: textOrNull(row.error),
    downloads: int(row.downloads),
  };
}

/**
 * Due exports in fair order: an account's n-th due export ranks behind every account's earlier
 * ones, counting the exports the account already has running; accounts at their cap get nothing.
 * A running export whose lease ran out is due again (its worker died) and no longer counts as live.
 *
 * Only an account's first `:head` (the smaller of the cap and the claim's limit) queued exports
 * can make the cut, so only they are read: the accounts with queued exports come from a loose
 * index scan, each one's head from the same index. Dead leases are few and are all read. A claim
 * then reads about (accounts x head) rows, however long the queue.
 */
const FAIR_DUE = `
  WITH RECURSIVE queued_accounts(account_id) AS (
    SELECT (SELECT account_id FROM exports INDEXED BY exports_queued_heads WHERE state = 'queued' ORDER BY account_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.account_id FROM exports e INDEXED BY exports_queued_heads WHERE e.state = 'queued' AND e.account_id > q.account_id ORDER BY e.account_id LIMIT 1)
    FROM queued_accounts q WHERE q.account_id IS NOT NULL
  ),
  live AS (
    SELECT account_id, count(*) AS running FROM exports
    WHERE state = 'running' AND lease_until >= :now
    GROUP BY account_id
  ),
  heads AS (
    SELECT e.id, e.account_id, e.requested_at FROM queued_accounts q JOIN exports e
      ON e.rowid IN (
        SELECT h.rowid FROM exports h INDEXED BY exports_queued_heads
        WHERE h.state = 'queued' AND h.account_id = q.account_id AND h.run_after <= :now
        ORDER BY h.requested_at, h.id
        LIMIT :head)
    UNION ALL
    SELECT id, account_id, requested_at FROM exports WHERE state = 'running' AND lease_until < :now
  ),
  due AS (
    SELECT id, account_id, requested_at,
           row_number() OVER (PARTITION BY account_id ORDER BY requested_at, id) AS rank
    FROM heads
  )
  SELECT due.id FROM due LEFT JOIN live USING (account_id)
  WHERE coalesce(live.running, 0) + due.rank <= :cap
  ORDER BY coalesce(live.running, 0) + due.rank, due.requested_at, due.id
  LIMIT :limit`;

const CLAIM_ONE = `
  UPDATE exports SET state = 'running', lease_owner = :owner, lease_until = :until, attempts = attempts + 1,
    started_at = :now, updated_at = :now, progress_rows = 0, progress_bytes = 0
  WHERE id = :id
  RETURNING *`;

/** Counts with every state present, zero when none. */
function countStates(rows: Row[]): Record<ExportState, number> {
  const counts = Object.fromEntries(ExportState.options.map((s) => [s, 0])) as Record<ExportState, number>;
  for (const row of rows) counts[row.state as ExportState] = int(row.n);
  return counts;
}

export class SqliteExports implements ExportsPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async insert(job: NewExportJob): Promise<void> {
    const now = this.#x.now();
    this.#x
      .sql(
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
        toJsonOrNull(job.split),
        ms(job.requestedAt),
        // Due at once by the store's clock, whatever clock stamped the request.
        now,
        now,
      );
    this.#x.addedWork('exports');
  }

  async get(id: string): Promise<ExportJob | null> {
    const row = this.#x.sql('SELECT * FROM exports WHERE id = ?').get(id) as Row | undefined;
    return row ? toExport(row) : null;
  }

  async list(accountId: number, query: ExportListQuery): Promise<ExportJob[]> {
    const where = ['account_id = ?'];
    const values: unknown[] = [accountId];
    if (query.state) {
      where.push('state = ?');
      values.push(query.state);
    }
    if (query.startingAfter !== undefined) {
      // Pages go newest to oldest: continue below the given export's place in that order.
      where.push('(requested_at, id) < (SELECT requested_at, id FROM exports WHERE id = ?)');
      values.push(query.startingAfter);
    }
    const rows = this.#x
      .sql(`SELECT * FROM exports WHERE ${where.join(' AND ')} ORDER BY requested_at DESC, id DESC LIMIT ?`)
      .all(...values, query.limit) as Row[];
    return rows.map(toExport);
  }

  async claim(owner: string, claim: ExportClaim): Promise<ExportJob[]> {
    if (claim.limit <= 0 || claim.maxRunningPerAccount <= 0) return [];
    return this.#x.atomic(() => {
      const now = this.#x.now();
      const head = Math.min(claim.maxRunningPerAccount, claim.limit);
      const ids = this.#x.sql(FAIR_DUE).pluck().all({ now, cap: claim.maxRunningPerAccount, limit: claim.limit, head }) as string[];
      const take = this.#x.sql(CLAIM_ONE);
      return ids.map((id) => toExport(take.get({ owner, until: now + claim.leaseMs, now, id }) as Row));
    });
  }

  async heartbeat(id: string, owner: string, leaseMs: number, progress: { rows: number; bytes: number }): Promise<boolean> {
    const info = this.#x
      .sql(
        `UPDATE exports SET lease_until = ?, progress_rows = ?, progress_bytes = ?
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(this.#x.now() + leaseMs, progress.rows, progress.bytes, id, owner);
    return info.changes === 1;
  }

  async complete(id: string, owner: string, result: ExportResult): Promise<boolean> {
    const info = this.#x
      .sql(
        `UPDATE exports SET state = 'completed', finished_at = ?, updated_at = ?, result = ?, expires_at = ?, lease_owner = NULL,
           lease_until = NULL, progress_rows = ?, progress_bytes = ?, error = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(ms(result.finishedAt), this.#x.now(), JSON.stringify(result), ms(result.expiresAt), result.numberRows, result.bytes, id, owner);
    return info.changes === 1;
  }

  async retryLater(id: string, owner: string, error: string, runAfter: Date): Promise<boolean> {
    const info = this.#x
      .sql(
        `UPDATE exports SET state = 'queued', run_after = ?, error = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(ms(runAfter), error, this.#x.now(), id, owner);
    return info.changes === 1;
  }

  async release(id: string, owner: string): Promise<boolean> {
    const now = this.#x.now();
    const info = this.#x
      .sql(
        `UPDATE exports SET state = 'queued', run_after = ?, updated_at = ?, attempts = max(attempts - 1, 0), lease_owner = NULL,
           lease_until = NULL, progress_rows = 0, progress_bytes = 0
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(now, now, id, owner);
    if (info.changes !== 1) return false;
    this.#x.addedWork('exports');
    return true;
  }

  async fail(id: string, owner: string | null, error: string): Promise<boolean> {
    const now = this.#x.now();
    const info =
      owner === null
        ? this.#x
            .sql(
              `UPDATE exports SET state = 'failed', finished_at = ?, updated_at = ?, error = ?, lease_owner = NULL, lease_until = NULL
               WHERE id = ? AND state IN ('queued', 'running')`,
            )
            .run(now, now, error, id)
        : this.#x
            .sql(
              `UPDATE exports SET state = 'failed', finished_at = ?, updated_at = ?, error = ?, lease_owner = NULL, lease_until = NULL
               WHERE id = ? AND lease_owner = ? AND state = 'running'`,
            )
            .run(now, now, error, id, owner);
    return info.changes === 1;
  }

  async recordDownload(d: DownloadRecord): Promise<void> {
    this.#x.atomic(() => {
      this.#x.sql('INSERT INTO downloads (export_id, at, bytes, client, range) VALUES (?, ?, ?, ?, ?)').run(d.exportId, ms(d.at), d.bytes, d.client, d.range);
      this.#x.sql('UPDATE exports SET downloads = downloads + 1, updated_at = ? WHERE id = ?').run(this.#x.now(), d.exportId);
    });
  }

  async listExpired(before: Date, limit: number): Promise<ExportJob[]> {
    const rows = this.#x
      .sql(`SELECT * FROM exports WHERE state = 'completed' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`)
      .all(ms(before), limit) as Row[];
    return rows.map(toExport);
  }

  async markExpired(id: string): Promise<boolean> {
    return this.#x.sql(`UPDATE exports SET state = 'expired', updated_at = ? WHERE id = ? AND state = 'completed'`).run(this.#x.now(), id).changes === 1;
  }

  async countByState(accountId?: number): Promise<Record<ExportState, number>> {
    const rows =
      accountId === undefined
        ? (this.#x.sql('SELECT state, count(*) AS n FROM exports GROUP BY state').all() as Row[])
        : (this.#x.sql('SELECT state, count(*) AS n FROM exports WHERE account_id = ? GROUP BY state').all(accountId) as Row[]);
    return countStates(rows);
  }

  async queueStats(): Promise<QueueStats> {
    const row = this.#x
      .sql(
        `SELECT
           count(*) FILTER (WHERE (state = 'queued' AND run_after <= :now) OR (state = 'running' AND lease_until < :now)) AS due,
           count(*) FILTER (WHERE state = 'running' AND lease_until >= :now) AS in_flight,
           min(CASE WHEN state = 'queued' AND run_after <= :now THEN run_after
                    WHEN state = 'running' AND lease_until < :now THEN lease_until END) AS oldest_due_at
         FROM exports WHERE state IN ('queued', 'running')`,
      )
      .get({ now: this.#x.now() }) as Row;
    return { due: int(row.due), inFlight: int(row.in_flight), oldestDueAt: dateOrNull(row.oldest_due_at) };
  }
}
