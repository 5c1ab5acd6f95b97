import type {
  DownloadRecord,
  ExportClaim,
  ExportJob,
  ExportListQuery,
  ExportResult,
  ExportState,
  ExportsPart,
  NewExportJob,
  QueueStats,
} from '@ferry/core';
import { dateOrNull, num, resultToJson, toExport } from '../rows.js';
import type { Session } from '../session.js';

const STATES: readonly ExportState[] = ['queued', 'running', 'completed', 'failed', 'expired'];

/** A due export: queued and past `run_after`, or running on a lease that ran out (its worker died). */
const DUE = (alias: string) =>
  `((${alias}.state = 'queued' AND ${alias}.run_after <= $1) OR (${alias}.state = 'running' AND ${alias}.lease_until <= $1))`;

/** Candidates beyond `limit`, so a claimer racing another one still finds work after skipping locked rows. */
const overSelect = (limit: number) => limit * 2 + 8;

export class PostgresExports implements ExportsPart {
  constructor(private readonly s: Session) {}

  private get table(): string {
    return this.s.t.exports;
  }

  async insert(job: NewExportJob): Promise<void> {
    await this.s.run(
      `INSERT INTO ${this.table} (id, account_id, name, format, compression, webhook_url, endpoint_id, dataset_key, query,
           hmac_signature, notify_on_failure, split, state, requested_at, run_after, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'queued', $13, $14, $14)`,
      [
        job.id,
        job.accountId,
        job.name,
        job.format,
        job.compression,
        job.webhookUrl,
        job.endpointId,
        job.datasetKey,
        JSON.stringify(job.query ?? null),
        job.hmacSignature,
        job.notifyOnFailure,
        job.split === null ? null : JSON.stringify(job.split),
        job.requestedAt,
        // Due from now on the store's clock (not the request time, which comes from another clock).
        this.s.now(),
      ],
    );
    // Announced when (and only if) the insert commits.
    this.s.announce('exports');
  }

  async get(id: string): Promise<ExportJob | null> {
    const row = await this.s.one(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return row && toExport(row);
  }

  async list(accountId: number, query: ExportListQuery): Promise<ExportJob[]> {
    const where = ['e.account_id = $1'];
    const values: unknown[] = [accountId];
    if (query.state) {
      values.push(query.state);
      where.push(`e.state = $${values.length}`);
    }
    if (query.startingAfter !== undefined) {
      values.push(query.startingAfter);
      where.push(`(e.requested_at, e.seq) < (SELECT requested_at, seq FROM ${this.table} WHERE id = $${values.length} AND account_id = $1)`);
    }
    values.push(query.limit);
    const rows = await this.s.rows(
      `SELECT e.* FROM ${this.table} e WHERE ${where.join(' AND ')} ORDER BY e.requested_at DESC, e.seq DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map(toExport);
  }

  async claim(owner: string, claim: ExportClaim): Promise<ExportJob[]> {
    if (claim.limit <= 0 || claim.maxRunningPerAccount <= 0) return [];
    const now = this.s.now();
    // Fair order ranks each account's due exports, but only an account's first `overSelect` can
    // make the cut (its earlier ones all rank ahead), and none past the cap: so only the head of
    // each account's queue is read (the accounts found by a loose index scan, each one's head from
    // the same index), plus the dead leases, which are few. The claim does not grow with the queue.
    // Window functions may not share a query level with FOR UPDATE: rank the candidates first,
    // then lock what is still due (SKIP LOCKED passes over rows another claimer holds) and lease it,
    // all in one statement. The cap is applied before over-selecting, so skipping a locked export
    // never lets a claimer reach past an account's cap.
    const rows = await this.s.rows(
      `WITH RECURSIVE queued_accounts AS (
         (SELECT account_id FROM ${this.table} WHERE state = 'queued' ORDER BY account_id LIMIT 1)
         UNION ALL
         SELECT (SELECT e.account_id FROM ${this.table} e WHERE e.state = 'queued' AND e.account_id > q.account_id ORDER BY e.account_id LIMIT 1)
         FROM queued_accounts q WHERE q.account_id IS NOT NULL
       ), running AS (
         SELECT account_id, count(*) AS n FROM ${this.table}
         WHERE state = 'running' AND lease_until > $1
         GROUP BY account_id
       ), heads AS (
         SELECT h.id, h.account_id, h.requested_at, h.seq
         FROM queued_accounts q CROSS JOIN LATERAL (
           SELECT e.id, e.account_id, e.requested_at, e.seq FROM ${this.table} e
           WHERE e.state = 'queued' AND e.account_id = q.account_id AND e.run_after <= $1
           ORDER BY e.requested_at, e.seq
           LIMIT least($4::bigint, $5::bigint)
         ) h
         UNION ALL
         SELECT e.id, e.account_id, e.requested_at, e.seq FROM ${this.table} e
         WHERE e.state = 'running' AND e.lease_until <= $1
       ), due AS (
         SELECT h.id, h.account_id, h.requested_at, h.seq,
                row_number() OVER (PARTITION BY h.account_id ORDER BY h.requested_at, h.seq) AS rank
         FROM heads h
       ), candidates AS (
         SELECT d.id, coalesce(r.n, 0) + d.rank AS priority, d.requested_at, d.seq
         FROM due d LEFT JOIN running r ON r.account_id = d.account_id
         WHERE coalesce(r.n, 0) + d.rank <= $4
         ORDER BY priority, d.requested_at, d.seq
         LIMIT $5
       ), locked AS (
         SELECT e.id, c.priority
         FROM ${this.table} e JOIN candidates c ON c.id = e.id
         WHERE ${DUE('e')}
         ORDER BY c.priority, c.requested_at, c.seq
         LIMIT $6
         FOR UPDATE OF e SKIP LOCKED
       )
       UPDATE ${this.table} e
       SET state = 'running', lease_owner = $2, lease_until = $3, attempts = e.attempts + 1, started_at = $1, updated_at = $1,
           progress_rows = 0, progress_bytes = 0
       FROM locked
       WHERE e.id = locked.id
       RETURNING e.*, locked.priority AS claim_priority`,
      [now, owner, new Date(now.getTime() + claim.leaseMs), claim.maxRunningPerAccount, overSelect(claim.limit), claim.limit],
    );
    // RETURNING has no order: restore the claim order.
    rows.sort(
      (a, b) =>
        num(a.claim_priority) - num(b.claim_priority) ||
        (a.requested_at as Date).getTime() - (b.requested_at as Date).getTime() ||
        num(a.seq) - num(b.seq),
    );
    return rows.map(toExport);
  }

  async heartbeat(id: string, owner: string, leaseMs: number, progress: { rows: number; bytes: number }): Promise<boolean> {
    const now = this.s.now();
    const changed = await this.s.changed(
      `UPDATE ${this.table} SET lease_until = $3, progress_rows = $4, progress_bytes = $5
       WHERE id = $1 AND lease_owner = $2 AND state = 'running'`,
      [id, owner, new Date(now.getTime() + leaseMs), progress.rows, progress.bytes],
    );
    return changed === 1;
  }

  async complete(id: string, owner: string, result: ExportResult): Promise<boolean> {
    const changed = await this.s.changed(
      `UPDATE ${this.table}
       SET state = 'completed', finished_at = $3, updated_at = $4, result = $5, expires_at = $6, progress_rows = $7, progress_bytes = $8,
           error = NULL, lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $2 AND state = 'running'`,
      [id, owner, result.finishedAt, this.s.now(), resultToJson(result), result.expiresAt, result.numberRows, result.bytes],
    );
    return changed === 1;
  }

  async retryLater(id: string, owner: string, error: string, runAfter: Date): Promise<boolean> {
    const changed = await this.s.changed(
      `UPDATE ${this.table}
       SET state = 'queued', run_after = $4, error = $3, updated_at = $5, lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $2 AND state = 'running'`,
      [id, owner, error, runAfter, this.s.now()],
    );
    return changed === 1;
  }

  async release(id: string, owner: string): Promise<boolean> {
    const released = await this.s.changed(
      `UPDATE ${this.table}
       SET state = 'queued', run_after = $3, updated_at = $3, attempts = greatest(attempts - 1, 0), progress_rows = 0, progress_bytes = 0,
           lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $2 AND state = 'running'`,
      [id, owner, this.s.now()],
    );
    if (released === 1) this.s.announce('exports');
    return released === 1;
  }

  async fail(id: string, owner: string | null, error: string): Promise<boolean> {
    const now = this.s.now();
    const changed =
      owner === null
        ? await this.s.changed(
            `UPDATE ${this.table} SET state = 'failed', error = $2, finished_at = $3, updated_at = $3, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND state IN ('queued', 'running')`,
            [id, error, now],
          )
        : await this.s.changed(
            `UPDATE ${this.table} SET state = 'failed', error = $3, finished_at = $4, updated_at = $4, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'`,
            [id, owner, error, now],
          );
    return changed === 1;
  }

  async recordDownload(download: DownloadRecord): Promise<void> {
    await this.s.atomic(async (s) => {
      await s.run(`INSERT INTO ${s.t.downloads} (export_id, at, bytes, client, range) VALUES ($1, $2, $3, $4, $5)`, [
        download.exportId,
        download.at,
        download.bytes,
        download.client,
        download.range,
      ]);
      await s.run(`UPDATE ${s.t.exports} SET downloads = downloads + 1 WHERE id = $1`, [download.exportId]);
    });
  }

  async listExpired(before: Date, limit: number): Promise<ExportJob[]> {
    const rows = await this.s.rows(
      `SELECT * FROM ${this.table} WHERE state = 'completed' AND expires_at <= $1 ORDER BY expires_at, seq LIMIT $2`,
      [before, limit],
    );
    return rows.map(toExport);
  }

  async markExpired(id: string): Promise<boolean> {
    const changed = await this.s.changed(`UPDATE ${this.table} SET state = 'expired', updated_at = $2 WHERE id = $1 AND state = 'completed'`, [
      id,
      this.s.now(),
    ]);
    return changed === 1;
  }

  async countByState(accountId?: number): Promise<Record<ExportState, number>> {
    const rows =
      accountId === undefined
        ? await this.s.rows(`SELECT state, count(*) AS n FROM ${this.table} GROUP BY state`)
        : await this.s.rows(`SELECT state, count(*) AS n FROM ${this.table} WHERE account_id = $1 GROUP BY state`, [accountId]);
    const counts = Object.fromEntries(STATES.map((state) => [state, 0])) as Record<ExportState, number>;
    for (const row of rows) counts[row.state as ExportState] = num(row.n);
    return counts;
  }

  async queueStats(): Promise<QueueStats> {
    const row = await this.s.one(
      `SELECT count(*) FILTER (WHERE ${DUE('e')}) AS due,
              count(*) FILTER (WHERE e.state = 'running' AND e.lease_until > $1) AS in_flight,
              min(CASE WHEN e.state = 'queued' AND e.run_after <= $1 THEN e.run_after
                       WHEN e.state = 'running' AND e.lease_until <= $1 THEN e.lease_until END) AS oldest
       FROM ${this.table} e
       WHERE e.state IN ('queued', 'running')`,
      [this.s.now()],
    );
    return { due: num(row?.due ?? 0), inFlight: num(row?.in_flight ?? 0), oldestDueAt: dateOrNull(row?.oldest) };
  }
}
