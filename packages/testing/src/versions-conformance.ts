import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JobStore, NewDatasetVersion, NewEvent, NewSchedule } from '@ferry/core';
import { storeRunner, type JobStoreConformanceOptions } from './jobs-conformance.js';

function version(n: number, cursor: string, previousCursor: string | null, datasetKey = 'fees'): NewDatasetVersion {
  return {
    datasetKey,
    versionNumber: n,
    cursor,
    previousCursor,
    changedRowCount: 3,
    rowCount: 10 * n,
    counters: { quote_safe_count: 7, trade_category: null, big: '9007199254740993' },
    publishedAt: new Date(Date.UTC(2025, 0, n, 12)),
    snapshotKey: `versions/${datasetKey}/${n}/snapshot.parquet`,
    deltaKey: `versions/${datasetKey}/${n}/delta.parquet`,
  };
}

function published(v: NewDatasetVersion, accountId: number): NewEvent {
  const id = `evt_${v.cursor}_${accountId}`;
  return { id, accountId, type: 'dataset.version.published', created: v.publishedAt, exportId: null, body: JSON.stringify({ type: 'dataset.version.published', id }) };
}

function schedule(overrides: Partial<NewSchedule> = {}): NewSchedule {
  return {
    id: `sch_${randomUUID()}`,
    kind: 'export',
    accountId: null,
    name: 'nightly',
    datasetKey: 'fees',
    cron: '0 3 * * *',
    body: { request: { name: 'nightly', format: 'csv' } },
    nextRunAt: new Date(Date.UTC(2025, 0, 1, 3)),
    ...overrides,
  };
}

/**
 * The "dataset versions and schedules" part of the JobStore contract: versions recorded with their
 * events in one transaction (and refused when a concurrent publish got there first), cursor
 * lookups, pruning, and schedules whose ticks are claimed exactly once.
 */
export function describeVersionStoreConformance(options: Pick<JobStoreConformanceOptions, 'name' | 'open' | 'newLocation'>): void {
  describe(`jobs conformance (versions and schedules): ${options.name}`, () => {
    const withStore = storeRunner(options);

    it('records a version with one event per account, fanned out to subscribed endpoints in the same transaction', () =>
      withStore(async (store) => {
        const a = await store.registerApiKey('k1');
        const b = await store.createAccount();
        for (const [account, events] of [[a.id, ['dataset.*']], [b.id, ['export.*']]] as const) {
          await store.createEndpoint({
            id: `ep_${randomUUID()}`,
            accountId: account,
            url: 'https://hooks.example.com/v',
            scheme: 'standard-webhooks',
            secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
            events: [...events],
            description: null,
            registered: true,
            scheduleMs: null,
          });
        }
        const seen: number[][] = [];
        const v1 = version(1, 'cur_1', null);
        const recorded = await store.recordDatasetVersion(v1, (accounts) => {
          seen.push([...accounts]);
          return accounts.map((id) => published(v1, id));
        });
        expect(recorded).toEqual({ ...v1, prunedAt: null });
        expect(seen).toEqual([[a.id, b.id]]);
        expect((await store.listEvents(a.id, { limit: 10 })).map((e) => e.id)).toEqual(['evt_cur_1_' + a.id]);
        expect((await store.listEvents(b.id, { limit: 10 })).map((e) => e.id)).toEqual(['evt_cur_1_' + b.id]);
        // Only a's endpoint subscribes to dataset events.
        expect(await store.deliveryCounts(a.id)).toMatchObject({ pending: 1 });
        expect(await store.deliveryCounts(b.id)).toMatchObject({ pending: 0 });
        expect((await store.listDeliveries(a.id, { limit: 10 }))[0]).toMatchObject({ messageId: 'evt_cur_1_' + a.id, eventType: 'dataset.version.published' });
      }));

    it('refuses a version that is not the next one (a concurrent publish won): nothing recorded, no events', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const events = (v: NewDatasetVersion) => (accounts: readonly number[]) => accounts.map((acc) => published(v, acc));
        expect(await store.recordDatasetVersion(version(2, 'cur_x', 'cur_0'), events(version(2, 'cur_x', 'cur_0')))).toBeNull();
        expect(await store.recordDatasetVersion(version(1, 'cur_1', null), events(version(1, 'cur_1', null)))).not.toBeNull();
        // Same number again, or the right number after the wrong predecessor.
        expect(await store.recordDatasetVersion(version(1, 'cur_1b', null), events(version(1, 'cur_1b', null)))).toBeNull();
        expect(await store.recordDatasetVersion(version(2, 'cur_2', 'cur_other'), events(version(2, 'cur_2', 'cur_other')))).toBeNull();
        expect(await store.recordDatasetVersion(version(2, 'cur_2', 'cur_1'), events(version(2, 'cur_2', 'cur_1')))).not.toBeNull();
        expect((await store.listEvents(id, { limit: 10 })).map((e) => e.id)).toEqual([`evt_cur_1_${id}`, `evt_cur_2_${id}`]);
        // Versions are per dataset.
        expect(await store.recordDatasetVersion(version(1, 'cur_o1', null, 'other'), () => [])).not.toBeNull();
      }));

    it('finds versions by cursor, number or latest; lists ranges both ways; marks pruned ones; survives a restart', async () => {
      const location = await options.newLocation();
      let store = await options.open(location);
      try {
        let prev: string | null = null;
        for (let n = 1; n <= 5; n++) {
          expect(await store.recordDatasetVersion(version(n, `cur_${n}`, prev), () => [])).not.toBeNull();
          prev = `cur_${n}`;
        }
        await store.recordDatasetVersion(version(1, 'cur_other', null, 'other'), () => []);
        await store.close();
        store = await options.open(location);
        expect(await store.findDatasetVersion('fees', { cursor: 'cur_3' })).toMatchObject({ versionNumber: 3, previousCursor: 'cur_2', counters: { big: '9007199254740993', trade_category: null } });
        expect(await store.findDatasetVersion('fees', { cursor: 'cur_other' })).toBeNull();
        expect(await store.findDatasetVersion('fees', { versionNumber: 2 })).toMatchObject({ cursor: 'cur_2' });
        expect(await store.findDatasetVersion('fees', { latest: true })).toMatchObject({ versionNumber: 5 });
        expect(await store.findDatasetVersion('none', { latest: true })).toBeNull();
        const nums = async (q: Parameters<JobStore['listDatasetVersions']>[1]) => (await store.listDatasetVersions('fees', q)).map((v) => v.versionNumber);
        expect(await nums({ afterVersion: 1, throughVersion: 4, order: 'asc', limit: 10 })).toEqual([2, 3, 4]);
        expect(await nums({ order: 'desc', limit: 2 })).toEqual([5, 4]);
        expect(await nums({ throughVersion: 3, order: 'desc', limit: 10 })).toEqual([3, 2, 1]);
        await store.markDatasetVersionPruned('fees', 1);
        const pruned = await store.findDatasetVersion('fees', { cursor: 'cur_1' });
        expect(pruned?.prunedAt).toBeInstanceOf(Date);
        expect((await store.findDatasetVersion('fees', { cursor: 'cur_2' }))?.prunedAt).toBeNull();
      } finally {
        await store.close();
      }
    });

    it('upserts schedules (a changed cron moves the next run, the same cron keeps it), lists, finds due ones, deletes', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const s = await store.upsertSchedule(schedule({ accountId: id }));
        expect(s).toMatchObject({ accountId: id, lastRunAt: null, body: { request: { name: 'nightly' } } });
        expect(s.createdAt).toBeInstanceOf(Date);
        const later = new Date(Date.UTC(2025, 0, 2, 3));
        expect((await store.upsertSchedule({ ...s, nextRunAt: later })).nextRunAt).toEqual(s.nextRunAt);
        expect((await store.upsertSchedule({ ...s, cron: '0 4 * * *', nextRunAt: later })).nextRunAt).toEqual(later);
        const v = await store.upsertSchedule(schedule({ id: 'dsv_fees', kind: 'version', nextRunAt: new Date(Date.UTC(2025, 0, 1, 1)) }));
        expect((await store.listSchedules({ accountId: id })).map((x) => x.id)).toEqual([s.id]);
        expect((await store.listSchedules({ kind: 'version' })).map((x) => x.id)).toEqual([v.id]);
        expect((await store.listSchedules({})).length).toBe(2);
        expect((await store.listDueSchedules(new Date(Date.UTC(2025, 0, 1, 2)), 10)).map((x) => x.id)).toEqual([v.id]);
        expect((await store.listDueSchedules(new Date(Date.UTC(2025, 0, 3)), 10)).map((x) => x.id)).toEqual([v.id, s.id]);
        expect(await store.deleteSchedule(s.id)).toBe(true);
        expect(await store.deleteSchedule(s.id)).toBe(false);
        expect(await store.getSchedule(s.id)).toBeNull();
      }));

    it('hands each tick to exactly one claimer, also across two handles on the same storage', async () => {
      const location = await options.newLocation();
      const one = await options.open(location);
      const two = await options.open(location);
      try {
        const s = await one.upsertSchedule(schedule());
        const next = new Date(s.nextRunAt.getTime() + 86_400_000);
        const at = new Date(s.nextRunAt.getTime() + 1_000);
        const wins = await Promise.all([one, two, one, two].map((store) => store.claimScheduleTick(s.id, s.nextRunAt, next, at)));
        expect(wins.filter(Boolean)).toHaveLength(1);
        expect(await two.getSchedule(s.id)).toMatchObject({ nextRunAt: next, lastRunAt: at });
        // The next tick is claimable once, too; a stale tick never again.
        expect(await two.claimScheduleTick(s.id, s.nextRunAt, next, at)).toBe(false);
        expect(await two.claimScheduleTick(s.id, next, new Date(next.getTime() + 86_400_000), next)).toBe(true);
      } finally {
        await one.close();
        await two.close();
      }
    });
  });
}
