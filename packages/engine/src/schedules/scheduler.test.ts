import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetDefinition, FerryError, createCatalog, type Account, type Catalog, type FormatWriter, type JobStore } from '@ferry/core';
import { csvFormat, csvOptionsSchema } from '@ferry/format-csv';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { createWebhookNotifier, signPayload, type WebhookNotifier } from '@ferry/notifier-webhook';
import { sampleSchedule } from '@ferry/testing/jobs';
import { DownloadLinks } from '../download-links.js';
import { presignedNotifier } from './presigned-notifier.js';
import { ScheduleService } from './schedule-service.js';
import { DEFAULT_SCHEDULER_OPTIONS, Scheduler, checkVersionSchedules, versionScheduleId, type SchedulerDeps } from './scheduler.js';
import { recordingLogger, type LogLine } from '../test-support/log-lines.js';

/*
 * Saved exports and publish schedules (docs/versions.md, "schedules"): a due tick runs exactly once
 * however many schedulers see it, missed ticks collapse into one run, and what a tick queues is an
 * ordinary export signed when the schedule was saved. A real SQLite job store (two handles on one
 * file stand for two processes), the real webhook notifier, and an injected clock.
 */

const API_KEY = 'fk_scheduler-test-key';
const HOOK = 'http://127.0.0.1:9/nightly';
const QUERY = { from: 'fees', scopes: [{ column: 'id' }], filters: [{ column: 'name', filter: { equals: 'Zürich "q"' } }] };

let dir: string;
let jobs: JobStore;
let notifier: WebhookNotifier;
let formats: Map<string, FormatWriter>;
let account: Account;
let clock: Date;
let lines: LogLine[];
let published: string[];
let queued: number;

const logger = recordingLogger((line) => lines.push(line));

function dataset(overrides: Record<string, unknown> = {}): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'fees',
    relation: { table: 'fees' },
    columns: [
      { name: 'id', type: 'integer', role: 'dimension' },
      { name: 'name', type: 'string', role: 'dimension' },
    ],
    primaryKey: ['id'],
    ...overrides,
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-scheduler-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
  formats = new Map([['csv', await csvFormat.create(csvOptionsSchema.parse({}), { logger, dataDir: dir })]]);
  account = await jobs.accounts.create({ name: 'tenant', createdAt: new Date() });
  clock = new Date('2025-03-01T12:03:00Z');
  lines = [];
  published = [];
  queued = 0;
});

afterEach(async () => {
  await notifier.close();
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

function scheduler(store: JobStore = jobs, catalog: Catalog = createCatalog([dataset()]), extra: Partial<SchedulerDeps> = {}, batch?: number): Scheduler {
  return new Scheduler(
    {
      jobs: store,
      catalog,
      logger,
      exports: { jobs: store, catalog, notifier, links: new DownloadLinks(Buffer.alloc(32, 3).toString('base64url'), 'http://127.0.0.1'), formats },
      // Publishing itself is VersionPublisher's (versions.test.ts); here only which dataset a tick publishes.
      publish: async (key) => {
        published.push(key);
      },
      onQueued: () => {
        queued++;
      },
      now: () => clock,
      ...extra,
    },
    batch === undefined ? {} : { batch },
  );
}

const service = (catalog: Catalog = createCatalog([dataset()])) => new ScheduleService({ jobs, catalog, notifier, formats, now: () => clock });

const saveNightly = (overrides: Record<string, unknown> = {}) =>
  service().create(account, API_KEY, { dataset: QUERY, format: 'csv', webhookURL: HOOK, name: 'nightly', cron: '0 3 * * *', ...overrides });

async function requested(store: JobStore = jobs) {
  return store.exports.list(account.id, { limit: 100 });
}

describe('Scheduler: saved exports', () => {
  it('queues nothing before the tick, then one export at it, signed when the schedule was saved', async () => {
    const saved = await saveNightly();
    expect(saved.nextRunAt).toBe('2025-03-02T03:00:00.000Z');
    const s = scheduler();
    clock = new Date('2025-03-02T02:59:59.999Z');
    expect(await s.runOnce()).toBe(false);
    expect(await requested()).toEqual([]);

    clock = new Date('2025-03-02T03:00:00Z');
    expect(await s.runOnce()).toBe(true);
    const [job, ...rest] = await requested();
    expect(rest).toEqual([]);
    expect(job).toMatchObject({
      accountId: account.id,
      name: 'nightly',
      format: 'csv',
      compression: 'gzip',
      datasetKey: 'fees',
      webhookUrl: HOOK,
      state: 'queued',
      query: QUERY,
      hmacSignature: signPayload(API_KEY, QUERY),
    });
    expect(queued).toBe(1);
    expect(lines).toEqual([{ level: 'info', obj: { schedule: saved.id, queryUUID: job!.id, tick: '2025-03-02T03:00:00.000Z' }, msg: 'scheduled export queued' }]);
    expect(await jobs.schedules.get(saved.id)).toMatchObject({ nextRunAt: new Date('2025-03-03T03:00:00Z'), lastRunAt: clock });
    // The same tick again: nothing more.
    expect(await s.runOnce()).toBe(false);
    expect(await requested()).toHaveLength(1);
    expect(published).toEqual([]);
  });

  it('runs a tick exactly once when several schedulers (processes) see it at the same time', async () => {
    await saveNightly({ cron: '*/15 * * * *' });
    const other = new SqliteJobStore({ file: join(dir, 'ferry.db') });
    try {
      const [a, b] = [scheduler(), scheduler(other)];
      clock = new Date('2025-03-01T12:15:00Z');
      const ran = await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
      expect(ran.filter(Boolean)).toHaveLength(1);
      expect(await requested()).toHaveLength(1);
      expect(queued).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('collapses ticks missed while nothing ran into one run, and schedules the next after now', async () => {
    const saved = await saveNightly({ cron: '*/15 * * * *' });
    clock = new Date('2025-03-01T15:31:00Z');
    const s = scheduler();
    expect(await s.runOnce()).toBe(true);
    expect(await s.runOnce()).toBe(false);
    expect(await requested()).toHaveLength(1);
    expect((await service().get(account, saved.id)).nextRunAt).toBe('2025-03-01T15:45:00.000Z');
  });

  it('takes at most `batch` due schedules per pass, earliest first', async () => {
    const first = await saveNightly({ name: 'first', cron: '5 12 * * *' });
    await saveNightly({ name: 'second', cron: '10 12 * * *' });
    await saveNightly({ name: 'third', cron: '15 12 * * *' });
    clock = new Date('2025-03-01T13:00:00Z');
    const s = scheduler(jobs, createCatalog([dataset()]), {}, 2);
    expect(await s.runOnce()).toBe(true);
    expect((await requested()).map((j) => j.name).sort()).toEqual(['first', 'second']);
    expect((await jobs.schedules.get(first.id))?.nextRunAt).toEqual(new Date('2025-03-02T12:05:00Z'));
    expect(await s.runOnce()).toBe(true);
    expect((await requested()).map((j) => j.name).sort()).toEqual(['first', 'second', 'third']);
    expect(DEFAULT_SCHEDULER_OPTIONS).toEqual({ pollMs: 5_000, batch: 20 });
  });

  it('logs a tick whose submit fails and moves on to the next tick instead of retrying it', async () => {
    const saved = await saveNightly();
    // The catalog of the tick no longer has the dataset: submit checks against it again.
    const s = scheduler(jobs, createCatalog([dataset({ key: 'other' })]));
    clock = new Date('2025-03-02T03:00:10Z');
    expect(await s.runOnce()).toBe(true);
    expect(await requested()).toEqual([]);
    expect(queued).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'scheduled run failed', obj: { schedule: saved.id, tick: '2025-03-02T03:00:00.000Z' } });
    expect((lines[0]!.obj as { err: string }).err).toMatch(/fees/);
    expect((await jobs.schedules.get(saved.id))?.nextRunAt).toEqual(new Date('2025-03-03T03:00:00Z'));
    expect(await s.runOnce()).toBe(false);
  });

  it('skips a stored schedule whose cron no longer parses, logging it, and still runs the others', async () => {
    const bad = await jobs.schedules.upsert(sampleSchedule({ accountId: account.id, cron: 'every day', nextRunAt: new Date('2025-03-01T00:00:00Z') }));
    await saveNightly({ cron: '5 12 * * *' });
    clock = new Date('2025-03-01T12:05:00Z');
    expect(await scheduler().runOnce()).toBe(true);
    expect(await requested()).toHaveLength(1);
    expect(lines[0]).toEqual({ level: 'error', obj: { schedule: bad.id, err: 'FerryError: invalid cron "every day": expected 5 fields (minute hour day-of-month month day-of-week), got 2' }, msg: 'schedule has a bad cron; skipped' });
    expect((await jobs.schedules.get(bad.id))?.nextRunAt).toEqual(new Date('2025-03-01T00:00:00Z'));
    expect(await scheduler().runOnce()).toBe(false);
  });
});

describe('Scheduler: publish schedules', () => {
  const scheduled = () => createCatalog([dataset({ versioning: { schedule: '*/10 * * * *' } }), dataset({ key: 'plain', versioning: {} })]);

  it('stores each scheduled dataset of the catalog as dsv_<key>, due at its next tick', async () => {
    await scheduler(jobs, scheduled()).syncCatalog();
    const stored = await jobs.schedules.list({ kind: 'version' });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id: 'dsv_fees', kind: 'version', accountId: null, name: 'publish fees', datasetKey: 'fees', cron: '*/10 * * * *', body: {}, nextRunAt: new Date('2025-03-01T12:10:00Z') });
    expect(versionScheduleId('fees')).toBe('dsv_fees');
  });

  it('publishes the dataset at each tick, once, and never queues an export for it', async () => {
    const s = scheduler(jobs, scheduled());
    await s.syncCatalog();
    clock = new Date('2025-03-01T12:10:30Z');
    expect(await s.runOnce()).toBe(true);
    expect(await s.runOnce()).toBe(false);
    clock = new Date('2025-03-01T12:20:00Z');
    expect(await s.runOnce()).toBe(true);
    expect(published).toEqual(['fees', 'fees']);
    expect(queued).toBe(0);
    expect(await requested()).toEqual([]);
  });

  it('logs a failed publish with its tick', async () => {
    const s = scheduler(jobs, scheduled(), {
      publish: async () => {
        throw new FerryError('TRANSIENT', 'source is down');
      },
    });
    await s.syncCatalog();
    clock = new Date('2025-03-01T12:10:00Z');
    expect(await s.runOnce()).toBe(true);
    expect(lines).toEqual([{ level: 'error', obj: { schedule: 'dsv_fees', tick: '2025-03-01T12:10:00.000Z', err: 'source is down' }, msg: 'scheduled run failed' }]);
  });

  it('follows catalog changes: a changed cron takes effect, a removed schedule is dropped, saved exports stay', async () => {
    const saved = await saveNightly();
    await scheduler(jobs, scheduled()).syncCatalog();
    await scheduler(jobs, createCatalog([dataset({ versioning: { schedule: '0 * * * *' } })])).syncCatalog();
    expect(await jobs.schedules.get('dsv_fees')).toMatchObject({ cron: '0 * * * *', nextRunAt: new Date('2025-03-01T13:00:00Z') });
    await scheduler(jobs, createCatalog([dataset()])).syncCatalog();
    expect(await jobs.schedules.list({ kind: 'version' })).toEqual([]);
    expect((await jobs.schedules.list({})).map((s) => s.id)).toEqual([saved.id]);
  });

  it('syncs the catalog when it starts and runs what is due at once, keeping a stored tick whose cron did not change', async () => {
    await scheduler(jobs, scheduled()).syncCatalog();
    clock = new Date('2025-03-01T12:10:00Z');
    const running = scheduler(jobs, scheduled());
    await running.start();
    await running.stop();
    expect(published).toEqual(['fees']);
    expect(await jobs.schedules.get('dsv_fees')).toMatchObject({ nextRunAt: new Date('2025-03-01T12:20:00Z'), lastRunAt: clock });
  });

  it('reports a failing pass and keeps the loop alive', async () => {
    let calls = 0;
    const s = scheduler(jobs, scheduled(), {
      // The catalog sync reads the clock first; the pass after it finds the clock broken.
      now: () => {
        if (++calls > 1) throw new Error('clock broke');
        return clock;
      },
    });
    await s.start();
    await expect.poll(() => lines.length).toBeGreaterThan(0);
    await s.stop();
    expect(lines[0]).toEqual({ level: 'error', obj: { err: 'Error: clock broke' }, msg: 'scheduler tick failed' });
    expect(await jobs.schedules.get('dsv_fees')).toMatchObject({ nextRunAt: new Date('2025-03-01T12:10:00Z') });
  });
});

describe('checkVersionSchedules', () => {
  it('accepts datasets without a schedule and with a good one', () => {
    expect(() => checkVersionSchedules([dataset(), dataset({ key: 'b', versioning: { schedule: '0 3 * * *' } })])).not.toThrow();
  });

  it('rejects a bad schedule as INVALID_CONFIG with its config path and the parser’s message', () => {
    const err = (() => {
      try {
        checkVersionSchedules([dataset(), dataset({ key: 'b', versioning: { schedule: '61 * * * *' } })], ['catalog', 'datasets']);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', path: ['catalog', 'datasets', 1, 'versioning', 'schedule'], message: 'invalid cron "61 * * * *": minute "61" is outside 0-59' });
  });

  it('rejects a schedule on a dataset without a primary key, at the primaryKey path', () => {
    expect(() => checkVersionSchedules([dataset({ primaryKey: undefined, versioning: { schedule: '0 3 * * *' } })])).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG', path: ['datasets', 0, 'primaryKey'], message: 'dataset "fees" has a versioning schedule but no primaryKey' }),
    );
    expect(() => checkVersionSchedules([dataset({ primaryKey: [], versioning: { schedule: '0 3 * * *' } })])).toThrowError(expect.objectContaining({ path: ['datasets', 0, 'primaryKey'] }));
  });
});

describe('ScheduleService', () => {
  it('saves the request exactly as sent (minus cron) with its seed signature, and shows it', async () => {
    const saved = await saveNightly({ compression: 'none' });
    expect(saved.id).toMatch(/^sch_[A-Za-z0-9_-]{16}$/);
    expect(saved).toEqual({
      id: saved.id,
      name: 'nightly',
      cron: '0 3 * * *',
      dataset: 'fees',
      request: { dataset: QUERY, format: 'csv', webhookURL: HOOK, name: 'nightly', compression: 'none' },
      nextRunAt: '2025-03-02T03:00:00.000Z',
      lastRunAt: null,
      createdAt: saved.createdAt,
    });
    expect((await jobs.schedules.get(saved.id))?.body).toEqual({ request: saved.request, hmacSignature: signPayload(API_KEY, QUERY) });
    expect(await service().get(account, saved.id)).toEqual(saved);
    expect((await service().list(account)).data).toEqual([saved]);
  });

  it('resolves the default dataset when the query names none', async () => {
    const saved = await saveNightly({ dataset: { scopes: [{ column: 'id' }] } });
    expect(saved.dataset).toBe('fees');
  });

  it('checks the request now: cron, format, compression, query and webhook target, each at its path', async () => {
    const cases: Array<[Record<string, unknown>, string, unknown[]]> = [
      [{ cron: '* * *' }, 'VALIDATION_FAILED', ['cron']],
      [{ format: 'xlsx' }, 'VALIDATION_FAILED', ['format']],
      [{ compression: 'brotli' }, 'VALIDATION_FAILED', ['compression']],
      [{ dataset: { from: 'nope', scopes: [{ column: 'id' }] } }, 'UNKNOWN_DATASET', ['dataset', 'from']],
      [{ webhookURL: 'http://10.1.2.3/hook' }, 'INVALID_WEBHOOK_URL', ['webhookURL']],
    ];
    for (const [overrides, code, path] of cases) {
      const err = await saveNightly(overrides).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(overrides)).toMatchObject({ code, path });
    }
    expect(await jobs.schedules.list({})).toEqual([]);
  });

  it('keeps each account to its own schedules, and deletes them', async () => {
    const other = await jobs.accounts.create({ name: 'other', createdAt: new Date() });
    const saved = await saveNightly();
    for (const attempt of [service().get(other, saved.id), service().delete(other, saved.id), service().get(account, 'sch_missing')]) {
      await expect(attempt).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    expect((await service().list(other)).data).toEqual([]);
    await service().delete(account, saved.id);
    expect(await jobs.schedules.get(saved.id)).toBeNull();
    await expect(service().delete(account, saved.id)).rejects.toMatchObject({ code: 'NOT_FOUND', message: `no schedule ${saved.id}` });
  });

  it('lists publish schedules for operators, and never hands one to an account', async () => {
    await scheduler(jobs, createCatalog([dataset({ versioning: { schedule: '*/10 * * * *' } })])).syncCatalog();
    const { data } = await service().listPublishSchedules();
    expect(data).toEqual([
      { id: 'dsv_fees', name: 'publish fees', cron: '*/10 * * * *', dataset: 'fees', request: {}, nextRunAt: '2025-03-01T12:10:00.000Z', lastRunAt: null, createdAt: data[0]!.createdAt },
    ]);
    await expect(service().get(account, 'dsv_fees')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await service().list(account)).data).toEqual([]);
  });

  it('shows when a schedule last ran', async () => {
    const saved = await saveNightly();
    clock = new Date('2025-03-02T03:00:05Z');
    await scheduler().runOnce();
    expect((await service().get(account, saved.id)).lastRunAt).toBe('2025-03-02T03:00:05.000Z');
  });
});

describe('presignedNotifier', () => {
  it('signs every payload with the saved signature and leaves targets and secrets to the real notifier', async () => {
    const presigned = presignedNotifier(notifier, 'f'.repeat(64));
    expect(presigned.signPayload('any key', { other: 'payload' })).toBe('f'.repeat(64));
    await expect(presigned.validateTarget('http://10.1.2.3/x', ['webhookURL'])).rejects.toMatchObject({ code: 'INVALID_WEBHOOK_URL', path: ['webhookURL'] });
    await expect(presigned.validateTarget(HOOK, ['webhookURL'])).resolves.toBeUndefined();
    expect(presigned.createSecret('standard-webhooks')).toMatch(/^whsec_/);
  });
});
