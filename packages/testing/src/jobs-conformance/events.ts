import { expect, it } from 'vitest';
import type { EventQuery } from '@ferry/core';
import { newAccount, sampleEvent } from './fixtures.js';
import { DAY, SECOND, T0, type Run } from './harness.js';

export function describeEvents(run: Run): void {
  it(
    'events: insert stores events in order, skips ids stored before and returns only the new ones; get round-trips them',
    run(async (s) => {
      const { store } = await s.fresh();
      const account = await newAccount(store);
      const first = sampleEvent(account, { created: new Date(T0 + 1), exportId: '6f1c2a8e-0000-4000-8000-000000000001' });
      const second = sampleEvent(account, { type: 'endpoint.disabled', created: new Date(T0 + 2) });
      const third = sampleEvent(account, { type: 'export.failed', created: new Date(T0 + 3) });
      expect(await store.events.insert([first, second])).toEqual([first, second]);
      expect(await store.events.insert([{ ...second, body: '{"changed":true}' }, third])).toEqual([third]);
      expect(await store.events.insert([first, second, third])).toEqual([]);
      expect(await store.events.insert([])).toEqual([]);
      expect(await store.events.get(first.id)).toEqual(first);
      expect(await store.events.get(second.id)).toEqual(second);
      expect((await store.events.get(first.id))!.created.getTime()).toBe(T0 + 1);
      expect(await store.events.get('evt_unknown')).toBeNull();
      expect((await store.events.list(account, { limit: 10 })).map((e) => e.id)).toEqual([first.id, second.id, third.id]);
    }),
  );

  it(
    "events: list gives an account's events oldest first, by exact type or a family, since a time, after an id",
    run(async (s) => {
      const { store } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const at = (seconds: number) => new Date(T0 + seconds * SECOND);
      const requested = sampleEvent(a, { type: 'export.requested', created: at(1) });
      const completed = sampleEvent(a, { type: 'export.completed', created: at(2) });
      const disabled = sampleEvent(a, { type: 'endpoint.disabled', created: at(3) });
      const failed = sampleEvent(a, { type: 'export.failed', created: at(4) });
      const published = sampleEvent(a, { type: 'dataset.version.published', created: at(5) });
      const lookalike = sampleEvent(a, { type: 'exports.summary', created: at(6) });
      const elsewhere = sampleEvent(b, { type: 'export.completed', created: at(2.5) });
      await store.events.insert([requested, completed, elsewhere, disabled, failed]);
      await store.events.insert([published, lookalike]);

      const list = async (accountId: number, query: EventQuery) => (await store.events.list(accountId, query)).map((e) => e.id);
      expect(await list(a, { limit: 10 })).toEqual([requested.id, completed.id, disabled.id, failed.id, published.id, lookalike.id]);
      expect(await list(a, { limit: 2 })).toEqual([requested.id, completed.id]);
      expect(await list(a, { limit: 10, type: 'export.completed' })).toEqual([completed.id]);
      expect(await list(a, { limit: 10, type: 'export.*' })).toEqual([requested.id, completed.id, failed.id]);
      expect(await list(a, { limit: 10, type: 'dataset.*' })).toEqual([published.id]);
      expect(await list(a, { limit: 10, type: 'dataset.version.*' })).toEqual([published.id]);
      expect(await list(a, { limit: 10, type: 'endpoint.*' })).toEqual([disabled.id]);
      expect(await list(a, { limit: 10, type: 'refund.*' })).toEqual([]);
      expect(await list(a, { limit: 10, since: at(2.5) })).toEqual([disabled.id, failed.id, published.id, lookalike.id]);
      expect(await list(a, { limit: 10, startingAfter: completed.id })).toEqual([disabled.id, failed.id, published.id, lookalike.id]);
      expect(await list(a, { limit: 1, startingAfter: completed.id })).toEqual([disabled.id]);
      expect(await list(a, { limit: 10, type: 'export.*', startingAfter: requested.id })).toEqual([completed.id, failed.id]);
      expect(await list(a, { limit: 10, type: 'export.*', since: at(3.5) })).toEqual([failed.id]);
      expect(await list(b, { limit: 10 })).toEqual([elsewhere.id]);
      expect(await list(a + b + 1000, { limit: 10 })).toEqual([]);
      expect((await store.events.list(a, { limit: 1, type: 'export.failed' }))[0]).toEqual(failed);
    }),
  );

  it(
    'events: purge deletes the events created before a time, in every account, and says how many',
    run(async (s) => {
      const { store } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const oldest = sampleEvent(a, { created: new Date(T0 - 2 * DAY) });
      const old = sampleEvent(a, { created: new Date(T0 - DAY) });
      const oldElsewhere = sampleEvent(b, { created: new Date(T0 - DAY) });
      const recent = sampleEvent(a, { created: new Date(T0) });
      await store.events.insert([oldest, old, oldElsewhere, recent]);
      expect(await store.events.purge(new Date(T0 - DAY))).toBe(1);
      expect(await store.events.get(oldest.id)).toBeNull();
      expect(await store.events.purge(new Date(T0))).toBe(2);
      expect(await store.events.purge(new Date(T0))).toBe(0);
      expect((await store.events.list(a, { limit: 10 })).map((e) => e.id)).toEqual([recent.id]);
      expect(await store.events.list(b, { limit: 10 })).toEqual([]);
    }),
  );
}
