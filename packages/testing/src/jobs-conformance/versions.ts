import { expect, it } from 'vitest';
import type { VersionListQuery } from '@ferry/core';
import { sampleSchedule, sampleVersion } from './fixtures.js';
import { DAY, HOUR, MINUTE, SECOND, T0, type Run } from './harness.js';

export function describeVersionsAndSchedules(run: Run): void {
  it(
    'versions: insert records only the next version (number and previous cursor both follow the latest), per dataset',
    run(async (s) => {
      const { store } = await s.fresh();
      expect(await store.versions.insert(sampleVersion(2, 'cur_x', 'cur_0'))).toBe(false);
      expect(await store.versions.insert(sampleVersion(1, 'cur_1', 'cur_0'))).toBe(false);
      expect(await store.versions.insert(sampleVersion(1, 'cur_1', null))).toBe(true);
      expect(await store.versions.insert(sampleVersion(1, 'cur_1b', null))).toBe(false);
      expect(await store.versions.insert(sampleVersion(2, 'cur_2', 'cur_other'))).toBe(false);
      expect(await store.versions.insert(sampleVersion(2, 'cur_2', null))).toBe(false);
      expect(await store.versions.insert(sampleVersion(3, 'cur_3', 'cur_1'))).toBe(false);
      expect(await store.versions.insert(sampleVersion(2, 'cur_2', 'cur_1'))).toBe(true);
      expect(await store.versions.insert(sampleVersion(1, 'cur_o1', null, 'other'))).toBe(true);
      for (const cursor of ['cur_x', 'cur_1b']) expect(await store.versions.find('fees', { cursor })).toBeNull();
      expect(await store.versions.find('fees', { latest: true })).toEqual({ ...sampleVersion(2, 'cur_2', 'cur_1'), prunedAt: null });
      expect(await store.versions.find('other', { latest: true })).toEqual({ ...sampleVersion(1, 'cur_o1', null, 'other'), prunedAt: null });
    }),
  );

  it(
    'versions: of several racing inserts of the same next version, across stores, exactly one wins',
    run(async (s) => {
      const { store, clock, location } = await s.fresh();
      const other = await s.open(location, clock);
      expect(await store.versions.insert(sampleVersion(1, 'cur_1', null))).toBe(true);
      const racers = [store, other, store, other, store, other];
      const wins = await Promise.all(racers.map((st, i) => st.versions.insert(sampleVersion(2, `cur_2_${i}`, 'cur_1'))));
      expect(wins.filter((won) => won)).toEqual([true]);
      const winner = `cur_2_${wins.indexOf(true)}`;
      expect(await other.versions.find('fees', { latest: true })).toMatchObject({ versionNumber: 2, cursor: winner });
      expect(await store.versions.list('fees', { order: 'asc', limit: 10 })).toHaveLength(2);
    }),
  );

  it(
    'versions: find by cursor, number or latest; list ranges both ways; markPruned stamps the version',
    run(async (s) => {
      const { store } = await s.fresh();
      let previous: string | null = null;
      for (let n = 1; n <= 5; n++) {
        expect(await store.versions.insert(sampleVersion(n, `cur_${n}`, previous))).toBe(true);
        previous = `cur_${n}`;
      }
      expect(await store.versions.insert(sampleVersion(1, 'cur_other', null, 'other'))).toBe(true);
      expect(await store.versions.find('fees', { cursor: 'cur_3' })).toEqual({ ...sampleVersion(3, 'cur_3', 'cur_2'), prunedAt: null });
      expect(await store.versions.find('fees', { cursor: 'cur_other' })).toBeNull();
      expect(await store.versions.find('fees', { versionNumber: 2 })).toMatchObject({ cursor: 'cur_2' });
      expect(await store.versions.find('fees', { versionNumber: 9 })).toBeNull();
      expect(await store.versions.find('fees', { latest: true })).toMatchObject({ versionNumber: 5, cursor: 'cur_5' });
      expect(await store.versions.find('none', { latest: true })).toBeNull();

      const numbers = async (query: VersionListQuery, dataset = 'fees') => (await store.versions.list(dataset, query)).map((v) => v.versionNumber);
      expect(await numbers({ order: 'asc', limit: 10 })).toEqual([1, 2, 3, 4, 5]);
      expect(await numbers({ afterVersion: 1, throughVersion: 4, order: 'asc', limit: 10 })).toEqual([2, 3, 4]);
      expect(await numbers({ afterVersion: 1, throughVersion: 4, order: 'asc', limit: 2 })).toEqual([2, 3]);
      expect(await numbers({ order: 'desc', limit: 2 })).toEqual([5, 4]);
      expect(await numbers({ throughVersion: 3, order: 'desc', limit: 10 })).toEqual([3, 2, 1]);
      expect(await numbers({ afterVersion: 5, order: 'asc', limit: 10 })).toEqual([]);
      expect(await numbers({ order: 'asc', limit: 10 }, 'other')).toEqual([1]);
      expect((await store.versions.list('fees', { afterVersion: 3, throughVersion: 4, order: 'asc', limit: 10 }))[0]).toEqual({
        ...sampleVersion(4, 'cur_4', 'cur_3'),
        prunedAt: null,
      });

      await store.versions.markPruned('fees', 1, new Date(T0 + 123));
      expect(await store.versions.find('fees', { cursor: 'cur_1' })).toEqual({ ...sampleVersion(1, 'cur_1', null), prunedAt: new Date(T0 + 123) });
      expect(await store.versions.find('fees', { cursor: 'cur_2' })).toMatchObject({ prunedAt: null });
      expect(await store.versions.find('other', { cursor: 'cur_other' })).toMatchObject({ prunedAt: null });
    }),
  );

  it(
    'schedules: upsert inserts, then replaces the fields, keeping nextRunAt unless the cron changed',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = (await store.accounts.create({ name: null, createdAt: clock.at() })).id;
      const created = await store.schedules.upsert(sampleSchedule({ accountId: account }));
      const input = sampleSchedule({ id: created.id, accountId: account });
      expect(created).toEqual({ ...input, lastRunAt: null, createdAt: expect.any(Date) });
      expect(await store.schedules.get(created.id)).toEqual(created);

      clock.advance(MINUTE);
      const renamed = { ...input, name: 'nightly (renamed)', datasetKey: 'rentals', body: { request: { name: 'renamed' } }, nextRunAt: new Date(T0 + DAY) };
      const kept = await store.schedules.upsert(renamed);
      expect(kept).toEqual({ ...renamed, nextRunAt: input.nextRunAt, lastRunAt: null, createdAt: created.createdAt });

      const recron = { ...renamed, cron: '0 4 * * *', kind: 'version' as const, accountId: null, nextRunAt: new Date(T0 + 2 * DAY) };
      const moved = await store.schedules.upsert(recron);
      expect(moved).toEqual({ ...recron, lastRunAt: null, createdAt: created.createdAt });
      expect(await store.schedules.get(created.id)).toEqual(moved);
      expect(await store.schedules.get('sch_unknown')).toBeNull();
    }),
  );

  it(
    'schedules: list oldest first by account and kind; listDue gives the due ones earliest first; delete once',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const a = (await store.accounts.create({ name: null, createdAt: clock.at() })).id;
      const b = (await store.accounts.create({ name: null, createdAt: clock.at() })).id;
      const mine = await store.schedules.upsert(sampleSchedule({ accountId: a, nextRunAt: new Date(T0 + 3 * HOUR) }));
      clock.advance(SECOND);
      const publish = await store.schedules.upsert(sampleSchedule({ id: 'dsv_fees', kind: 'version', nextRunAt: new Date(T0 + HOUR) }));
      clock.advance(SECOND);
      const theirs = await store.schedules.upsert(sampleSchedule({ accountId: b, nextRunAt: new Date(T0 + 2 * HOUR) }));
      clock.advance(SECOND);
      const mineToo = await store.schedules.upsert(sampleSchedule({ accountId: a, nextRunAt: new Date(T0 + 5 * HOUR) }));

      const listed = async (filter: Parameters<typeof store.schedules.list>[0]) => (await store.schedules.list(filter)).map((x) => x.id);
      expect(await listed({})).toEqual([mine.id, publish.id, theirs.id, mineToo.id]);
      expect(await listed({ accountId: a })).toEqual([mine.id, mineToo.id]);
      expect(await listed({ kind: 'version' })).toEqual([publish.id]);
      expect(await listed({ kind: 'export', accountId: b })).toEqual([theirs.id]);
      expect(await listed({ kind: 'version', accountId: a })).toEqual([]);
      expect((await store.schedules.list({ accountId: b }))[0]).toEqual(theirs);

      const due = async (at: number, limit = 10) => (await store.schedules.listDue(new Date(at), limit)).map((x) => x.id);
      expect(await due(T0 + HOUR - 1)).toEqual([]);
      expect(await due(T0 + HOUR)).toEqual([publish.id]);
      expect(await due(T0 + 4 * HOUR)).toEqual([publish.id, theirs.id, mine.id]);
      expect(await due(T0 + 4 * HOUR, 2)).toEqual([publish.id, theirs.id]);

      expect(await store.schedules.delete(theirs.id)).toBe(true);
      expect(await store.schedules.delete(theirs.id)).toBe(false);
      expect(await store.schedules.get(theirs.id)).toBeNull();
      expect(await due(T0 + 4 * HOUR)).toEqual([publish.id, mine.id]);
    }),
  );

  it(
    'schedules: claimTick hands each tick to exactly one of several racing callers, across stores on the same location',
    run(async (s) => {
      const { store, clock, location } = await s.fresh();
      const other = await s.open(location, clock);
      const schedule = await store.schedules.upsert(sampleSchedule());
      const tick = schedule.nextRunAt;
      const next = new Date(tick.getTime() + DAY);
      const at = new Date(tick.getTime() + SECOND);
      const wins = await Promise.all([store, other, store, other, store, other].map((st) => st.schedules.claimTick(schedule.id, tick, next, at)));
      expect(wins.filter((won) => won)).toEqual([true]);
      expect(await other.schedules.get(schedule.id)).toEqual({ ...schedule, nextRunAt: next, lastRunAt: at });
      expect(await store.schedules.claimTick(schedule.id, tick, next, at)).toBe(false);
      expect(await store.schedules.claimTick(schedule.id, next, new Date(next.getTime() + DAY), next)).toBe(true);
      expect(await store.schedules.claimTick('sch_unknown', tick, next, at)).toBe(false);
      expect(await store.schedules.listDue(next, 10)).toEqual([]);
    }),
  );
}
