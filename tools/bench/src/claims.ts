/**
 * Export claims per second with 1, 2 and 4 worker processes: Ferry's claim path (exports.claim in
 * batches of 10, then exports.complete per export: the bare loop's work) and the same with the
 * completion transaction the export worker commits (complete + event + completion webhook) on
 * PostgreSQL and on SQLite, beside a bare `FOR UPDATE SKIP LOCKED` loop on a minimal table in the
 * same PostgreSQL database, in the same run. No export work is done: this is the queue's cost.
 */
import { randomUUID } from 'node:crypto';
import type { JobStore, NewExportJob } from '@ferry/core';
import { DEFAULT_EXPORT_WORKER_OPTIONS, ensureImplicitEndpoint } from '@ferry/engine';
import type { ClaimSpec } from './claim-process.js';
import { progressLine, runProcesses, setbackNote, type ProcessesRun } from './processes.js';
import { table, type Row } from './report.js';
import { BenchPlaces, openStore, STORE_LABEL, type StoreLocation } from './scale-out-stores.js';

export interface ClaimsOptions {
  processes: readonly number[];
  exports: number;
  accounts: number;
  /** Per measured run, start-up included. */
  timeoutMs: number;
}

/** Rates (exports/s) measured with one number of processes. */
export interface ClaimsFigures {
  processes: number;
  bareEach: number;
  bareBatch: number;
  /** Claim + complete, on PostgreSQL. */
  postgresClaimPath: number;
  /** Claim + the completion transaction with its outbox rows. */
  postgres: number;
  sqlite: number;
}

const CLAIM_SCRIPT = './claim-process';
const BATCH = 10;
/** What the export worker passes when `exports.maxRunningPerAccount` is not set (its default). */
const NO_ACCOUNT_CAP = 2 ** 31 - 1;
const INSERT_BATCH = 1_000;

export async function benchClaims(o: ClaimsOptions): Promise<{ tables: string[]; figures: ClaimsFigures[] }> {
  const tables: string[] = [];
  const figures: ClaimsFigures[] = [];
  for (const n of o.processes) {
    const places = await BenchPlaces.create('claims');
    try {
      await seedFerry(places.postgres, o);
      await seedFerry(places.sqlite, o);
      // A second Ferry schema for the claim-path run (the first is used up by the outbox run).
      const claimPathAt = places.extraPostgres('claim_path');
      await seedFerry(claimPathAt, o);
      const bare = { each: `"${places.postgres.schema}".bare_each`, batch: `"${places.postgres.schema}".bare_batch` };
      await places.sql(async (c) => {
        for (const t of Object.values(bare)) {
          await c.query(`CREATE TABLE ${t} (id bigint PRIMARY KEY, state text NOT NULL, lease_owner text, lease_until timestamptz)`);
          // A queue table's usual index: claims find queued rows without walking past finished ones.
          await c.query(`CREATE INDEX ON ${t} (id) WHERE state = 'queued'`);
          // The same history as Ferry's tables: as many jobs done before as are queued.
          await c.query(`INSERT INTO ${t} (id, state) SELECT g, CASE WHEN g <= $1 THEN 'done' ELSE 'queued' END FROM generate_series(1, 2 * $1::int) g`, [o.exports]);
          await c.query(`VACUUM ANALYZE ${t}`);
        }
        // Tables vacuumed and statistics as autovacuum would have them on a live install, for Ferry's tables as for the bare ones.
        for (const schema of [places.postgres.schema, claimPathAt.schema]) await c.query(`VACUUM ANALYZE "${schema}".exports, "${schema}".endpoints, "${schema}".accounts`);
      });

      const owners = (label: string) => Array.from({ length: n }, (_, i) => `bench-${label}-${n}-${i}`);
      const leaseMs = DEFAULT_EXPORT_WORKER_OPTIONS.leaseMs;
      const run = async (label: string, specs: ClaimSpec[], verify: () => Promise<void>): Promise<ProcessesRun> => {
        const r = await runProcesses(CLAIM_SCRIPT, specs, { timeoutMs: o.timeoutMs });
        if (r.units !== o.exports) throw new Error(`${label}: ${r.units} exports completed, expected ${o.exports}`);
        await verify();
        progressLine(`claims, ${n} process(es), ${label}: ${Math.round(o.exports / r.seconds)} exports/s${setbackNote(r.setbacks)}`);
        return r;
      };
      const bareRun = (done: 'each' | 'batch') =>
        run(
          `bare (${done})`,
          owners(`bare-${done}`).map((owner) => ({ mode: 'bare', table: bare[done], owner, limit: BATCH, leaseMs, done })),
          async () => {
            const left = await places.sql((c) => c.query<{ n: string }>(`SELECT count(*) AS n FROM ${bare[done]} WHERE state <> 'done'`));
            if (Number(left.rows[0]!.n) !== 0) throw new Error(`bare (${done}): ${left.rows[0]!.n} jobs not done`);
          },
        );
      const ferryRun = (at: StoreLocation, outbox = true) =>
        run(
          `Ferry on ${STORE_LABEL[at.kind]}${outbox ? '' : ', claim + complete'}`,
          owners(at.kind).map((owner) => ({ mode: 'ferry', at, owner, limit: BATCH, leaseMs, maxRunningPerAccount: NO_ACCOUNT_CAP, outbox })),
          () => verifyCompleted(at, o.exports, outbox ? o.exports : 0),
        );

      const eachRun = await bareRun('each');
      const batchRun = await bareRun('batch');
      const claimPathRun = await ferryRun(claimPathAt, false);
      const pgRun = await ferryRun(places.postgres);
      const sqliteRun = await ferryRun(places.sqlite);

      const row = (name: string, r: ProcessesRun, baseline = false): Row => ({
        name: `${name}${setbackNote(r.setbacks)}`,
        seconds: r.seconds,
        units: o.exports,
        unit: 'exports',
        peakRssMb: r.peakRssMb,
        baseline,
      });
      tables.push(
        table(
          `Export claims, ${n} worker process${n === 1 ? '' : 'es'}, ${o.exports.toLocaleString('en-US')} exports over ${o.accounts} accounts`,
          [
            row('bare SKIP LOCKED loop, PostgreSQL: claim 10, one UPDATE (commit) per job done', eachRun, true),
            row('bare SKIP LOCKED loop, PostgreSQL: claim 10, one UPDATE per batch of 10 done', batchRun),
            row('Ferry, PostgreSQL: exports.claim(10), then exports.complete per export (the claim path: the bare loop\'s work)', claimPathRun),
            row('Ferry, PostgreSQL: exports.claim(10), then per export complete + completion webhook + event in one transaction', pgRun),
            row('Ferry, SQLite: the same', sqliteRun),
          ],
          'rate',
        ),
      );
      const rate = (r: { seconds: number }) => o.exports / r.seconds;
      figures.push({ processes: n, bareEach: rate(eachRun), bareBatch: rate(batchRun), postgresClaimPath: rate(claimPathRun), postgres: rate(pgRun), sqlite: rate(sqliteRun) });
    } finally {
      await places.remove();
    }
  }
  return { tables, figures };
}

/** Accounts, each with the implicit endpoint of its webhook URL, and `exports` queued exports spread over them. */
async function seedFerry(at: StoreLocation, o: ClaimsOptions): Promise<void> {
  const store = await openStore(at, { migrate: true, listen: false });
  try {
    const accounts: Array<{ id: number; endpointId: string }> = [];
    for (let i = 0; i < o.accounts; i++) {
      const account = await store.accounts.create({ name: `bench-${i}`, createdAt: new Date() });
      // Never called: no delivery worker runs in this benchmark.
      const endpoint = await ensureImplicitEndpoint(store, account.id, 'http://127.0.0.1:9/hook', 'ferry-hmac', () => null);
      accounts.push({ id: account.id, endpointId: endpoint.id });
    }
    /** `o.exports` new exports spread over the accounts, in transactions of INSERT_BATCH; `ended` fails each at once. */
    const insertAll = async (ended: boolean): Promise<void> => {
      for (let start = 0; start < o.exports; start += INSERT_BATCH) {
        await store.transaction(async (tx) => {
          for (let i = start; i < Math.min(start + INSERT_BATCH, o.exports); i++) {
            const job = exportJob(accounts[i % accounts.length]!);
            await tx.exports.insert(job);
            if (ended) await tx.exports.fail(job.id, null, 'history');
          }
        });
      }
    };
    // A live install's table also holds the exports that ended before (kept for the retention
    // period): as many as are queued here. Without them the statistics would say every row is
    // queued, which no install that ran for a while has, and the planner would have no reason to
    // prefer the index of queued exports over an account's whole history.
    await insertAll(true);
    await insertAll(false);
  } finally {
    await store.close();
  }
}

function exportJob(account: { id: number; endpointId: string }): NewExportJob {
  return {
    id: randomUUID(),
    accountId: account.id,
    name: 'bench',
    format: 'csv',
    compression: 'gzip',
    webhookUrl: 'http://127.0.0.1:9/hook',
    endpointId: account.endpointId,
    datasetKey: 'rentals',
    query: { object: 'rentals', filters: [{ field: 'city', op: 'eq', value: 'Austin' }] },
    hmacSignature: 'a'.repeat(64),
    requestedAt: new Date(),
    notifyOnFailure: false,
    split: null,
  };
}

async function verifyCompleted(at: StoreLocation, expected: number, notices: number): Promise<void> {
  const store: JobStore = await openStore(at, { listen: false });
  try {
    const counts = await store.exports.countByState();
    if (counts.completed !== expected || counts.failed !== expected) throw new Error(`Ferry on ${STORE_LABEL[at.kind]}: ${JSON.stringify(counts)}, expected ${expected} completed and the ${expected} ended before the run`);
    const queued = await store.deliveries.countByState();
    if (queued.pending !== notices) throw new Error(`Ferry on ${STORE_LABEL[at.kind]}: ${queued.pending} completion webhooks queued, expected ${notices}`);
  } finally {
    await store.close();
  }
}
