import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog, DatasetDefinition, FerryError, type JobStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { LocalStore } from '@ferry/store-local';
import { DuckDBSource, DuckDBSourceOptions } from '@ferry/source-duckdb';
import { csvFormat } from '@ferry/format-csv';
import { parquetFormat } from '@ferry/format-parquet';
import { waitFor } from '@ferry/testing/support';
import { isPermanent } from './export-worker.js';
import { deliveryId, eventId } from './ids.js';
import { FirstCallHeld, withPart } from './test-support/job-store-parts.js';
import { createFormats, ExportRig, FailingStore, GatedStore, rentalsDataset, writeRentals, type RigParts, type ShiftedClock } from './test-support/export-rig.js';

/*
 * What the export worker does when an export does not simply complete: retries with backoff,
 * permanent failures, cancellation, a lost lease, shutdown, and how many exports it runs at once.
 * Real SQLite job store, local store, DuckDB and writers; a stand-in store only where a condition
 * cannot be produced for real (see test-support/export-rig.ts).
 */

async function build(dir: string, clock: ShiftedClock): Promise<RigParts> {
  const formats = await createFormats([csvFormat, parquetFormat], { csv: { use: 'csv' }, parquet: { use: 'parquet' } }, dir);
  return {
    jobs: new SqliteJobStore({ file: join(dir, 'ferry.db'), now: clock.now }),
    store: new LocalStore({ root: join(dir, 'files') }),
    source: await DuckDBSource.create(DuckDBSourceOptions.parse({ threads: 1 }), { dataDir: dir }),
    formats,
  };
}

let rig: ExportRig;

beforeEach(async () => {
  // No dataset file yet: reading it fails the way a missing file on shared storage does.
  rig = await ExportRig.open(build, { writeData: false });
});

afterEach(async () => {
  await rig.close();
});

const writeData = () => writeRentals(rig.dataFile, rig.parts.formats.get('parquet')!);
const claimAny = (owner: string) => rig.jobs.exports.claim(owner, { limit: 10, leaseMs: 60_000, maxRunningPerAccount: 100 });

describe('isPermanent', () => {
  it('treats input errors and queries that cannot succeed as permanent, outages and aborts as passing', () => {
    expect(isPermanent(new FerryError('UNKNOWN_DATASET', 'x'))).toBe(true);
    expect(isPermanent(new FerryError('LIMIT_EXCEEDED', 'x'))).toBe(true);
    expect(isPermanent(new FerryError('INVALID_CONFIG', 'x'))).toBe(true);
    expect(isPermanent(new FerryError('QUERY_FAILED', 'x', { retryable: false }))).toBe(true);
    expect(isPermanent(new FerryError('QUERY_FAILED', 'x', { retryable: true }))).toBe(false);
    expect(isPermanent(new FerryError('ABORTED', 'x'))).toBe(false);
    expect(isPermanent(new FerryError('INTERNAL', 'x'))).toBe(false);
    expect(isPermanent(new FerryError('TRANSIENT', 'x'))).toBe(false);
    expect(isPermanent(new FerryError('STORAGE_FULL', 'x'))).toBe(false);
    expect(isPermanent(new Error('socket hang up'))).toBe(false);
    expect(isPermanent('a string')).toBe(false);
  });
});

describe('retries', () => {
  it('retries a failure that may pass after about 5 s, then completes', async () => {
    const job = await rig.insert();
    const worker = rig.worker({ maxAttempts: 3 });
    expect(await worker.runOnce()).toBe(true);

    const waiting = await rig.get(job.id);
    expect(waiting).toMatchObject({ state: 'queued', attempts: 1 });
    expect(waiting.error).toMatch(/^DuckDB query failed: IO Error: No files found/);
    expect(worker.counters).toEqual({ completed: 0, failed: 0, retried: 1, released: 0, leasesLost: 0 });
    expect(rig.ended).toEqual([{ format: 'csv', outcome: 'retried', seconds: expect.any(Number), rows: 0, bytes: 0 }]);
    expect(rig.logs).toEqual([{ level: 'warn', obj: { queryUUID: job.id, attempt: 1, reason: waiting.error }, msg: 'export attempt failed; will retry' }]);
    expect(await rig.events()).toEqual([]);

    // The first retry waits 5 s +-20%.
    rig.clock.advance(3_000);
    expect(await worker.runOnce()).toBe(false);
    await writeData();
    rig.clock.advance(4_000);
    expect(await worker.runOnce()).toBe(true);
    expect(await rig.get(job.id)).toMatchObject({ state: 'completed', attempts: 2, error: null, result: { numberRows: 25 } });
    expect((await rig.events()).map((e) => e.type)).toEqual(['export.completed']);
  });

  it('doubles the wait before each further attempt', async () => {
    const job = await rig.insert();
    const worker = rig.worker({ maxAttempts: 3 });
    await worker.runOnce();
    rig.clock.advance(7_000);
    expect(await worker.runOnce()).toBe(true);
    expect(await rig.get(job.id)).toMatchObject({ state: 'queued', attempts: 2 });
    // The second retry waits 10 s +-20%: not due 7 s after the failure (the store clock is 7 s
    // ahead already), due 13 s after it.
    expect(await worker.runOnce()).toBe(false);
    rig.clock.advance(6_000);
    expect(await worker.runOnce()).toBe(true);
    expect(await rig.get(job.id)).toMatchObject({ state: 'failed', attempts: 3 });
  });

  it('fails for good after maxAttempts, with the export.failed event and the failure notice it asked for', async () => {
    const job = await rig.insert({ notifyOnFailure: true });
    const worker = rig.worker({ maxAttempts: 2 });
    await worker.runOnce();
    rig.clock.advance(7_000);
    await worker.runOnce();

    const failed = await rig.get(job.id);
    const reason = failed.error!;
    expect(reason).toMatch(/^DuckDB query failed: IO Error: No files found/);
    expect(failed).toMatchObject({ state: 'failed', attempts: 2, result: null });
    expect(worker.counters).toEqual({ completed: 0, failed: 1, retried: 1, released: 0, leasesLost: 0 });
    expect(rig.ended.map((e) => [e.outcome, e.rows, e.bytes])).toEqual([
      ['retried', 0, 0],
      ['failed', 0, 0],
    ]);
    expect(rig.logs.at(-1)).toEqual({ level: 'error', obj: { queryUUID: job.id, attempt: 2, reason }, msg: 'export failed' });

    const events = await rig.events();
    expect(events.map((e) => [e.type, e.exportId])).toEqual([['export.failed', job.id]]);
    expect(events[0]!.body).toMatchObject({ id: eventId(`${job.id}\0export.failed`), data: { object: { uuid: job.id, failed_reason: reason } } });

    const deliveries = await rig.deliveries(job.id);
    expect(deliveries.map((d) => [d.id, d.eventType, d.endpointId])).toEqual([[deliveryId(job.id, 'export.failed'), 'export.failed', rig.endpointId]]);
    const notice = JSON.parse(deliveries[0]!.body) as Record<string, unknown>;
    expect(notice).toMatchObject({ queryUUID: job.id, name: 'Rentals Q1', format: 'csv', error: { reason }, requestedOn: job.requestedAt.toISOString() });
    expect(deliveries[0]!.headers).toEqual({ 'SHA256-HMAC-Signature': 'f'.repeat(64) });
  });

  it('sends no failure notice to an export that did not ask for one, but still records the event', async () => {
    const job = await rig.insert({ notifyOnFailure: false });
    await rig.worker({ maxAttempts: 1 }).runOnce();
    expect((await rig.get(job.id)).state).toBe('failed');
    expect((await rig.events()).map((e) => e.type)).toEqual(['export.failed']);
    expect(await rig.deliveries(job.id)).toEqual([]);
  });

  it('retries a store outage, keeps the parts it stored while the export may run again, and removes them once it failed', async () => {
    await writeData();
    // The store accepts the first part and then goes down for the second.
    const outage = new FailingStore(rig.store, () => new FerryError('TRANSIENT', 'the store is unavailable'), { match: (key) => key.includes('part-00002') });
    const job = await rig.insert({ split: { maxFileRows: 10 } });
    const worker = rig.worker({ maxAttempts: 2 }, { store: outage });
    const part1 = `${job.id}/Rentals-Q1.part-00001.csv`;

    await worker.runOnce();
    expect(await rig.get(job.id)).toMatchObject({ state: 'queued', attempts: 1, error: 'the store is unavailable' });
    expect(await rig.exists(part1)).toBe(true);

    rig.clock.advance(7_000);
    await worker.runOnce();
    expect(await rig.get(job.id)).toMatchObject({ state: 'failed', attempts: 2, error: 'the store is unavailable' });
    expect(outage.failures).toBe(2);
    expect(await rig.exists(part1)).toBe(false);
  });

  it('records the message of an error that is not Ferry’s own, and retries it', async () => {
    await writeData();
    const flaky = new FailingStore(rig.store, () => new Error('socket hang up'), { times: 1 });
    const job = await rig.insert();
    await rig.worker({ maxAttempts: 3 }, { store: flaky }).runOnce();
    expect(await rig.get(job.id)).toMatchObject({ state: 'queued', attempts: 1, error: 'socket hang up' });
  });
});

describe('permanent failures', () => {
  async function failsAtOnce(error: string | RegExp, deps: Parameters<ExportRig['worker']>[1] = {}, overrides: Parameters<ExportRig['insert']>[0] = {}) {
    await writeData();
    const job = await rig.insert(overrides);
    const worker = rig.worker({ maxAttempts: 3 }, deps);
    await worker.runOnce();
    const done = await rig.get(job.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 1 });
    expect(done.error).toMatch(error);
    expect(worker.counters).toMatchObject({ failed: 1, retried: 0 });
    expect((await rig.events()).map((e) => e.type)).toEqual(['export.failed']);
  }

  it('fails at once when the dataset left the catalog after the export was queued', async () => {
    const other = rentalsDataset(rig.dataFile);
    await failsAtOnce(/^unknown dataset "rentals"$/, { catalog: createCatalog([{ ...other, key: 'leases' }]) });
  });

  it('fails at once when the export’s format is not configured', async () => {
    await failsAtOnce(/^format "xml" is not configured$/, {}, { format: 'xml' });
  });

  it('fails at once when the dataset’s source is not configured', async () => {
    await failsAtOnce(/^dataset "rentals" names source "default", which is not configured$/, { sources: new Map() });
  });

  it('fails at once when DuckDB says the query cannot succeed', async () => {
    const broken = DatasetDefinition.parse({
      key: 'rentals',
      relation: { sql: "SELECT CAST('not a number' AS INTEGER) AS id, 'x' AS city, 1 AS rent" },
      columns: rentalsDataset(rig.dataFile).columns,
    });
    await failsAtOnce(/^DuckDB query failed: Conversion Error/, { catalog: createCatalog([broken]) });
  });
});

describe('while an export runs', () => {
  it('reports progress with its heartbeats', async () => {
    await writeData();
    const gate = new GatedStore(rig.store, (key) => key.includes('part-00002'));
    const job = await rig.insert({ split: { maxFileRows: 10 } });
    const running = rig.worker({ heartbeatMs: 10 }, { store: gate }).runOnce();
    await gate.reached();
    const part1 = await rig.read(`${job.id}/Rentals-Q1.part-00001.csv`);
    // Part 1's rows and bytes (at most part 2's header besides: it may be on its way to the store).
    const seen = await waitFor('a heartbeat', async () => {
      const j = await rig.get(job.id);
      return j.progressRows > 0 ? j : undefined;
    });
    expect(seen).toMatchObject({ state: 'running', progressRows: 10 });
    expect(seen.progressBytes).toBeGreaterThanOrEqual(part1.length);
    expect(seen.progressBytes).toBeLessThanOrEqual(part1.length + 'id,city,rent\n'.length);
    gate.open();
    await running;
    expect(await rig.get(job.id)).toMatchObject({ state: 'completed', progressRows: 25 });
  });

  it('stops a cancelled export at its next heartbeat, removes what it stored, and announces nothing more', async () => {
    await writeData();
    const gate = new GatedStore(rig.store, (key) => key.includes('part-00002'));
    const job = await rig.insert({ split: { maxFileRows: 10 }, notifyOnFailure: true });
    const worker = rig.worker({ heartbeatMs: 10 }, { store: gate });
    const running = worker.runOnce();
    await gate.reached();
    expect(await rig.exists(`${job.id}/Rentals-Q1.part-00001.csv`)).toBe(true);
    expect(await rig.jobs.exports.fail(job.id, null, 'cancelled by request')).toBe(true);
    await running;

    expect(await rig.get(job.id)).toMatchObject({ state: 'failed', attempts: 1, error: 'cancelled by request', result: null });
    expect(await rig.exists(`${job.id}/Rentals-Q1.part-00001.csv`)).toBe(false);
    expect(await rig.events()).toEqual([]);
    expect(await rig.deliveries(job.id)).toEqual([]);
    expect(worker.counters).toEqual({ completed: 0, failed: 0, retried: 0, released: 0, leasesLost: 1 });
  });

  it('gives up an export whose lease another worker took, and changes nothing of it', async () => {
    await writeData();
    const gate = new GatedStore(rig.store, (key) => key.includes('part-00002'));
    const job = await rig.insert({ split: { maxFileRows: 10 } });
    const worker = rig.worker({ heartbeatMs: 10, leaseMs: 60_000 }, { store: gate });
    const running = worker.runOnce();
    await gate.reached();
    // Another worker, whose clock says the lease ran out, claims the export.
    const other = new SqliteJobStore({ file: join(rig.dir, 'ferry.db'), now: () => Date.now() + 3_600_000 });
    try {
      expect((await other.exports.claim('successor', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 100 })).map((j) => j.id)).toEqual([job.id]);
      await running;
    } finally {
      await other.close();
    }

    expect(await rig.get(job.id)).toMatchObject({ state: 'running', attempts: 2, error: null, result: null });
    // The successor writes the same keys: the part stays for it.
    expect(await rig.exists(`${job.id}/Rentals-Q1.part-00001.csv`)).toBe(true);
    expect(worker.counters).toEqual({ completed: 0, failed: 0, retried: 0, released: 0, leasesLost: 1 });
    expect(rig.leasesLost).toBe(1);
    expect(rig.ended).toEqual([]);
    expect(await rig.events()).toEqual([]);
  });

  it('does not complete an export whose lease was taken while it wrote the last file', async () => {
    await writeData();
    const gate = new GatedStore(rig.store);
    const job = await rig.insert();
    const worker = rig.worker({ heartbeatMs: 60_000 }, { store: gate });
    const running = worker.runOnce();
    await gate.reached();
    const other = new SqliteJobStore({ file: join(rig.dir, 'ferry.db'), now: () => Date.now() + 3_600_000 });
    try {
      expect(await other.exports.claim('successor', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 100 })).toHaveLength(1);
      gate.open();
      await running;
    } finally {
      await other.close();
    }
    expect(await rig.get(job.id)).toMatchObject({ state: 'running', attempts: 2, result: null });
    expect(worker.counters.completed).toBe(0);
    expect(rig.ended).toEqual([]);
    expect(await rig.events()).toEqual([]);
    expect(await rig.deliveries(job.id)).toEqual([]);
  });
});

describe('start and stop', () => {
  it('on stop, gives a running export back after the grace period without counting the attempt', async () => {
    await writeData();
    const gate = new GatedStore(rig.store);
    const job = await rig.insert();
    const worker = rig.worker({ concurrency: 1, shutdownGraceMs: 20 }, { store: gate });
    worker.start();
    await gate.reached();
    expect(worker.running).toBe(1);
    await worker.stop();

    expect(await rig.get(job.id)).toMatchObject({ state: 'queued', attempts: 0, progressRows: 0, progressBytes: 0, error: null });
    expect(worker.running).toBe(0);
    expect(worker.counters).toEqual({ completed: 0, failed: 0, retried: 0, released: 1, leasesLost: 0 });
    expect(rig.ended.map((e) => e.outcome)).toEqual(['released']);
    expect(rig.logs).toContainEqual({ level: 'info', obj: { queryUUID: job.id }, msg: 'export released for another worker' });
    expect(await rig.events()).toEqual([]);
    expect(await claimAny('next')).toHaveLength(1);
  });

  it('on stop, lets a running export finish within the grace period', async () => {
    await writeData();
    const gate = new GatedStore(rig.store);
    const job = await rig.insert();
    const worker = rig.worker({ concurrency: 1, shutdownGraceMs: 60_000 }, { store: gate });
    worker.start();
    await gate.reached();
    const stopping = worker.stop();
    gate.open();
    await stopping;
    expect((await rig.get(job.id)).state).toBe('completed');
    expect(worker.counters).toMatchObject({ completed: 1, released: 0 });
  });

  it('claims nothing once stopped', async () => {
    await writeData();
    const worker = rig.worker();
    worker.start();
    await worker.stop();
    const job = await rig.insert();
    worker.poke();
    expect((await rig.get(job.id)).state).toBe('queued');
    expect(worker.running).toBe(0);
  });

  it('picks up an export queued after start at once, not at the next poll', async () => {
    await writeData();
    const worker = rig.worker({ pollMs: 3_600_000 });
    worker.start();
    const job = await rig.insert();
    await waitFor('the export to complete', async () => ((await rig.get(job.id)).state === 'completed' ? true : undefined));
    expect(worker.counters.completed).toBe(1);
  });

  it('picks up an export queued while a claim that found nothing was on its way back, not at the next poll', async () => {
    await writeData();
    // The first claim has read the (empty) queue and is held on its way back.
    const held = new FirstCallHeld();
    const exportsPart: JobStore['exports'] = {
      ...rig.jobs.exports,
      claim: async (...args) => {
        const due = await rig.jobs.exports.claim(...args);
        await held.hook();
        return due;
      },
    };
    const worker = rig.worker({ pollMs: 3_600_000 }, { jobs: withPart(rig.jobs, 'exports', exportsPart) });
    worker.start();
    await waitFor('the first claim', () => (held.calls === 1 ? true : undefined));
    // Queued meanwhile: the store's commit pokes the worker while its claim is still out.
    const job = await rig.insert();
    held.open();
    await waitFor('the export to complete', async () => ((await rig.get(job.id)).state === 'completed' ? true : undefined), 10_000);
    expect(worker.counters.completed).toBe(1);
  });

  it('runs at most `concurrency` exports at once and takes the next as one finishes', async () => {
    await writeData();
    const gate = new GatedStore(rig.store);
    const jobs = [await rig.insert({ name: 'a' }), await rig.insert({ name: 'b' }), await rig.insert({ name: 'c' })];
    const worker = rig.worker({ concurrency: 2 }, { store: gate });
    worker.start();
    await gate.reached(2);
    expect(worker.running).toBe(2);
    expect(await rig.jobs.exports.countByState(rig.account.id)).toMatchObject({ queued: 1, running: 2 });
    gate.open();
    await waitFor('all three to complete', async () => ((await rig.jobs.exports.countByState(rig.account.id)).completed === 3 ? true : undefined));
    expect(worker.counters.completed).toBe(3);
    expect((await Promise.all(jobs.map((j) => rig.get(j.id)))).map((j) => j.attempts)).toEqual([1, 1, 1]);
  });

  it('runs no more than maxRunningPerAccount exports of one account, so another account’s export starts', async () => {
    await writeData();
    const gate = new GatedStore(rig.store);
    const neighbour = await rig.addAccount('neighbour');
    const mine = [await rig.insert({ name: 'a' }), await rig.insert({ name: 'b' })];
    const theirs = await rig.insert({ name: 'c', accountId: neighbour.account.id, endpointId: neighbour.endpointId });
    const worker = rig.worker({ concurrency: 3, maxRunningPerAccount: 1 }, { store: gate });
    worker.start();
    await gate.reached(2);
    expect(await rig.jobs.exports.countByState(rig.account.id)).toMatchObject({ queued: 1, running: 1 });
    expect((await rig.get(theirs.id)).state).toBe('running');
    expect(worker.running).toBe(2);
    gate.open();
    await waitFor('all three to complete', async () => {
      const states = await Promise.all([...mine, theirs].map(async (j) => (await rig.get(j.id)).state));
      return states.every((s) => s === 'completed') ? true : undefined;
    });
    expect(worker.counters.completed).toBe(3);
  });
});
