import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog, silentLogger, type Account, type Catalog, type DatasetDefinition, type JobStore, type WebhookNotifier } from '@ferry/core';
import { AccountService, DownloadLinks, ScheduleService, Scheduler, checkVersionSchedules } from '@ferry/engine';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { csvFormat } from '@ferry/format-csv';

const API_KEY = 'schedules-test-key';
const SIGNATURE = 'f'.repeat(64);

/** A notifier that accepts every target and signs with a fixed value: these tests are about ticks. */
const notifier: WebhookNotifier = {
  name: 'stub',
  validateTarget: async () => undefined,
  signPayload: (key) => (key === API_KEY ? SIGNATURE : 'signed-with-the-wrong-key'),
  createSecret: () => 'whsec_stub',
  deliver: async () => ({ ok: true, retryable: false, durationMs: 0 }),
};

const dataset: DatasetDefinition = {
  key: 'fees',
  source: 'default',
  relation: { table: 'fees' },
  columns: [{ name: 'id', type: 'integer', role: 'dimension', exportable: true }],
  primaryKey: ['id'],
  limits: { maxRows: 1000 },
  versioning: { schedule: '*/10 * * * *' },
};

let dir: string;
let stores: JobStore[];
let account: Account;
let clock: Date;
const catalog: Catalog = createCatalog([dataset]);
const formats = new Map([['csv', await csvFormat.create(csvFormat.options.parse({}), { logger: silentLogger, dataDir: '.' })]]);

function scheduler(jobs: JobStore, published: string[]): Scheduler {
  return new Scheduler({
    jobs,
    catalog,
    logger: silentLogger,
    exports: { jobs, catalog, notifier, links: new DownloadLinks('secret', () => 'http://127.0.0.1'), formats },
    publish: async (key) => {
      published.push(key);
    },
    now: () => clock,
  });
}

async function requested(jobs: JobStore): Promise<Array<{ id: string; type: string }>> {
  return (await jobs.events.list(account.id, { type: 'export.requested', limit: 100 })).map((e) => ({ id: e.id, type: e.type }));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-schedules-'));
  // Two handles on one SQLite file: two scheduler processes sharing the job store.
  stores = [new SqliteJobStore({ file: join(dir, 'ferry.db') }), new SqliteJobStore({ file: join(dir, 'ferry.db') })];
  const accounts = new AccountService({ jobs: stores[0]! });
  await accounts.bootstrap(API_KEY);
  account = await accounts.authenticate(API_KEY);
  clock = new Date('2025-03-01T12:03:00Z');
});

afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('scheduler', () => {
  it('enqueues exactly one export per tick with two schedulers racing, through ExportService.submit', async () => {
    const service = new ScheduleService({ jobs: stores[0]!, catalog, notifier, formats, now: () => clock });
    const saved = await service.create(account, API_KEY, {
      dataset: { from: 'fees', scopes: [{ column: 'id' }] },
      format: 'csv',
      webhookURL: 'https://hooks.example.com/nightly',
      name: 'quarter-hourly',
      cron: '*/15 * * * *',
    });
    expect(saved.nextRunAt).toBe('2025-03-01T12:15:00.000Z');
    const published: string[] = [];
    const [a, b] = stores.map((s) => scheduler(s, published)) as [Scheduler, Scheduler];
    const race = () => Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);

    await race();
    expect(await requested(stores[0]!)).toHaveLength(0); // not due yet

    clock = new Date('2025-03-01T12:15:00Z');
    expect((await race()).filter(Boolean)).toHaveLength(1);
    expect(await requested(stores[1]!)).toHaveLength(1);
    await race(); // same tick again: nothing
    expect(await requested(stores[0]!)).toHaveLength(1);

    clock = new Date('2025-03-01T12:29:59Z');
    await race();
    expect(await requested(stores[0]!)).toHaveLength(1);

    // Down for an hour: the missed ticks collapse into one run, then the next tick is in the future.
    clock = new Date('2025-03-01T13:31:00Z');
    await race();
    await race();
    expect(await requested(stores[0]!)).toHaveLength(2);
    expect((await service.get(account, saved.id)).nextRunAt).toBe('2025-03-01T13:45:00.000Z');

    // The queued export is a normal export: the saved request, signed at save time with the API key.
    const events = await stores[0]!.events.list(account.id, { type: 'export.requested', limit: 10 });
    const uuid = (JSON.parse(events[0]!.body) as { data: { object: { uuid: string } } }).data.object.uuid;
    expect(await stores[0]!.exports.get(uuid)).toMatchObject({ name: 'quarter-hourly', format: 'csv', datasetKey: 'fees', hmacSignature: SIGNATURE, query: { from: 'fees', scopes: [{ column: 'id' }] } });
    expect(published).toEqual([]);
  });

  it('publishes a dataset on its versioning.schedule once per tick, and follows catalog changes', async () => {
    const published: string[] = [];
    const [a, b] = stores.map((s) => scheduler(s, published)) as [Scheduler, Scheduler];
    await Promise.all([a.syncCatalog(), b.syncCatalog()]);
    expect((await stores[0]!.schedules.list({ kind: 'version' })).map((s) => [s.id, s.nextRunAt.toISOString()])).toEqual([['dsv_fees', '2025-03-01T12:10:00.000Z']]);
    clock = new Date('2025-03-01T12:10:30Z');
    await Promise.all([a.runOnce(), b.runOnce()]);
    clock = new Date('2025-03-01T12:20:00Z');
    await Promise.all([a.runOnce(), b.runOnce()]);
    expect(published).toEqual(['fees', 'fees']);

    // A catalog without the schedule drops it.
    const without = new Scheduler({
      jobs: stores[0]!,
      catalog: createCatalog([{ ...dataset, versioning: {} }]),
      logger: silentLogger,
      exports: { jobs: stores[0]!, catalog, notifier, links: new DownloadLinks('s', () => ''), formats: new Map() },
      publish: async () => undefined,
      now: () => clock,
    });
    await without.syncCatalog();
    expect(await stores[0]!.schedules.list({ kind: 'version' })).toEqual([]);
  });

  it('rejects a bad versioning.schedule at startup with its config path', () => {
    expect(() => checkVersionSchedules([{ ...dataset, versioning: { schedule: '* * *' } }])).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG', path: ['datasets', 0, 'versioning', 'schedule'] }),
    );
    expect(() => checkVersionSchedules([{ ...dataset, primaryKey: undefined }])).toThrowError(expect.objectContaining({ path: ['datasets', 0, 'primaryKey'] }));
    expect(() => checkVersionSchedules([dataset])).not.toThrow();
  });
});
