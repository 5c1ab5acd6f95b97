/**
 * One claiming worker process of the claims benchmark (forked by claims.ts). Either Ferry's export
 * claim path on a job store, with the completion transaction the export worker commits for every
 * export and no export work in between, or the bare SKIP LOCKED loop on a minimal table.
 * Loops until nothing is left to claim and reports how many it completed.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { isFerryError, type ExportJob, type ExportResult, type JobStore } from '@ferry/core';
import { completionNotice, DownloadLinks, eventId, exportEvent, recordEvents } from '@ferry/engine';
import { childSpec, serveParent, type ChildWork } from './processes.js';
import { openStore, PG_URL, type StoreLocation } from './scale-out-stores.js';

export type ClaimSpec =
  /**
   * `outbox: true`: each export is completed as the export worker completes it (complete + event +
   * completion webhook in one transaction); `false`: exports.complete alone, the bare loop's work.
   */
  | { mode: 'ferry'; at: StoreLocation; owner: string; limit: number; leaseMs: number; maxRunningPerAccount: number; outbox: boolean }
  /** `each`: one UPDATE (one commit) per completed job, as Ferry; `batch`: one UPDATE for the whole claimed batch. */
  | { mode: 'bare'; table: string; owner: string; limit: number; leaseMs: number; done: 'each' | 'batch' };

const spec = childSpec<ClaimSpec>();

serveParent(() => (spec.mode === 'ferry' ? ferryClaims(spec) : bareClaims(spec)));

/** A result as an export that wrote one small file would have; nothing is written. */
function resultOf(job: ExportJob): ExportResult {
  const finishedAt = new Date();
  const file = { objectKey: `${job.id}/bench.csv.gz`, fileName: 'bench.csv.gz', contentType: 'application/gzip', rows: 3, bytes: 100, sha256: '0'.repeat(64) };
  return {
    files: [file],
    manifest: null,
    numberRows: 3,
    bytes: 100,
    timeTakenMs: finishedAt.getTime() - job.requestedAt.getTime(),
    finishedAt,
    expiresAt: new Date(finishedAt.getTime() + 30 * 24 * 3_600_000),
    pushdown: true,
  };
}

async function ferryClaims(s: Extract<ClaimSpec, { mode: 'ferry' }>): Promise<ChildWork> {
  // The loop never waits for work, so it has no use for wake-ups.
  const store: JobStore = await openStore(s.at, { listen: false });
  const links = new DownloadLinks(randomBytes(32).toString('base64url'), 'http://127.0.0.1:8080');
  let completed = 0;
  const setbacks = { 'busy store errors retried': 0, 'leases lost (completed by another process)': 0 };
  /**
   * A store that stays busy past its wait (SQLite shared by several processes) fails the call as
   * TRANSIENT, and nothing was written; the engine tries again later, and so does this loop.
   */
  const again = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!isFerryError(err) || err.code !== 'TRANSIENT') throw err;
        setbacks['busy store errors retried']++;
      }
    }
  };

  /** What ExportWorker#run commits when an export finishes (packages/engine/src/export-worker.ts). */
  const complete = async (job: ExportJob): Promise<void> => {
    const result = resultOf(job);
    const event = exportEvent('export.completed', { ...job, finishedAt: result.finishedAt }, { at: result.finishedAt, id: eventId(`${job.id}\0export.completed`) });
    const done = await again(() =>
      s.outbox
        ? store.transaction(async (tx) => {
            if (!(await tx.exports.complete(job.id, s.owner, result))) return false;
            await recordEvents(tx, [event], [completionNotice(job, result, links)]);
            return true;
          })
        : store.exports.complete(job.id, s.owner, result),
    );
    // As in the engine: a worker that held a claim past its lease (no export work here, so no
    // heartbeat) changes nothing, and the export is completed by whoever claimed it next.
    if (done) completed++;
    else setbacks['leases lost (completed by another process)']++;
  };

  return {
    async run() {
      for (;;) {
        const jobs = await again(() => store.exports.claim(s.owner, { limit: s.limit, leaseMs: s.leaseMs, maxRunningPerAccount: s.maxRunningPerAccount }));
        if (jobs.length === 0) {
          // SKIP LOCKED may come back empty while other claimers hold the candidates: stop only when none is due.
          if ((await again(() => store.exports.queueStats())).due === 0) return completed;
          continue;
        }
        for (const job of jobs) await complete(job);
      }
    },
    progress: () => completed,
    setbacks: () => setbacks,
    close: () => store.close(),
  };
}

async function bareClaims(s: Extract<ClaimSpec, { mode: 'bare' }>): Promise<ChildWork> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  let completed = 0;
  const claimSql = `UPDATE ${s.table} SET state = 'running', lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
    WHERE id IN (SELECT id FROM ${s.table} WHERE state = 'queued' ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  const doneSql =
    s.done === 'each'
      ? `UPDATE ${s.table} SET state = 'done', lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`
      : `UPDATE ${s.table} SET state = 'done', lease_owner = NULL, lease_until = NULL WHERE id = ANY($1::bigint[]) AND lease_owner = $2`;
  const markDone = async (ids: unknown): Promise<number> => (await client.query(doneSql, [ids, s.owner])).rowCount ?? 0;

  return {
    async run() {
      for (;;) {
        const { rows } = await client.query<{ id: string }>(claimSql, [s.owner, s.leaseMs, s.limit]);
        if (rows.length === 0) {
          const left = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${s.table} WHERE state = 'queued'`);
          if (Number(left.rows[0]!.n) === 0) return completed;
          continue;
        }
        const ids = rows.map((r) => r.id);
        let changed = 0;
        if (s.done === 'batch') changed = await markDone(ids);
        else for (const id of ids) changed += await markDone(id);
        if (changed !== ids.length) throw new Error(`${s.owner} lost ${ids.length - changed} of its claimed jobs`);
        completed += changed;
      }
    },
    progress: () => completed,
    setbacks: () => ({}),
    close: () => client.end(),
  };
}
