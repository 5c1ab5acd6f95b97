import { expect, it } from 'vitest';
import type { DeliveryQuery, DeliverySettlement, JobStore } from '@ferry/core';
import { addEndpoint, deliveryClaim, failed, queueDeliveries, succeeded, withoutLog } from './delivery-steps.js';
import { newAccount, sampleAttempt, sampleDelivery } from './fixtures.js';
import { DAY, ids, MINUTE, SECOND, sorted, T0, type ManualClock, type Run } from './harness.js';

/** Claim every due delivery for one worker and settle each as `outcome` says. */
async function settleAll(store: JobStore, clock: ManualClock, outcome: (id: string) => DeliverySettlement['next'] | 'hold'): Promise<void> {
  const claimed = await store.deliveries.claim('w-settle', deliveryClaim(1000));
  const settlements = claimed.flatMap((d): DeliverySettlement[] => {
    const next = outcome(d.id);
    if (next === 'hold') return [];
    const ok = next.state === 'succeeded';
    return [{ deliveryId: d.id, attempt: sampleAttempt(clock.at(), ok ? { status: 200, error: null } : {}), next }];
  });
  expect(await store.deliveries.settle('w-settle', settlements)).toHaveLength(settlements.length);
}

export function describeDeliveryRecords(run: Run): void {
  it(
    'deliveries: redeliver makes a delivery pending again, due now, from the start of its schedule, with the same id',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const endpoint = await addEndpoint(store, account);
      const [id, done] = await queueDeliveries(store, clock, account, endpoint.id, 2);
      await settleAll(store, clock, (d) => (d === id ? { state: 'pending', nextAttemptAt: clock.at(-1) } : succeeded));
      await settleAll(store, clock, () => failed);
      expect(await store.deliveries.get(id!)).toMatchObject({ state: 'failed', attempts: 2 });
      clock.advance(MINUTE);
      expect(await store.deliveries.redeliver(id!)).toBe(true);
      const again = await store.deliveries.get(id!);
      expect(again).toMatchObject({ id, messageId: id, state: 'pending', attempts: 2, nextAttemptAt: clock.at() });
      expect(again!.attemptLog).toHaveLength(2);
      clock.advance(1);
      expect(await store.deliveries.claim('w1', deliveryClaim(5))).toMatchObject([{ id, messageId: id, attempts: 2, retryIndex: 0 }]);

      expect(await store.deliveries.redeliver(done!)).toBe(true);
      expect(await store.deliveries.get(done!)).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: clock.at() });
      expect(await store.deliveries.redeliver('msg_unknown')).toBe(false);
    }),
  );

  it(
    "deliveries: recover redelivers an account's failed deliveries created at or after a time, and says how many",
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const [ea, eb] = [await addEndpoint(store, a), await addEndpoint(store, b)];
      const make = (accountId: number, endpointId: string, createdAt: number) => sampleDelivery(accountId, endpointId, { createdAt: new Date(createdAt) });
      const oldest = make(a, ea.id, T0 - 2 * DAY);
      const old = make(a, ea.id, T0 - DAY);
      const recent = make(a, ea.id, T0);
      const ok = make(a, ea.id, T0);
      const waiting = make(a, ea.id, T0);
      const elsewhere = make(b, eb.id, T0);
      await store.deliveries.insert([oldest, old, recent, ok, waiting, elsewhere]);
      clock.advance(SECOND);
      await settleAll(store, clock, (id) => (id === ok.id ? succeeded : id === waiting.id ? { state: 'pending', nextAttemptAt: clock.at(DAY) } : failed));
      clock.advance(SECOND);
      expect(await store.deliveries.recover(a, new Date(T0 - DAY))).toBe(2);
      for (const d of [old, recent]) expect(await store.deliveries.get(d.id)).toMatchObject({ state: 'pending', nextAttemptAt: clock.at(), attempts: 1 });
      expect(await store.deliveries.get(oldest.id)).toMatchObject({ state: 'failed' });
      expect(await store.deliveries.get(elsewhere.id)).toMatchObject({ state: 'failed' });
      expect(await store.deliveries.get(ok.id)).toMatchObject({ state: 'succeeded' });
      expect(await store.deliveries.get(waiting.id)).toMatchObject({ state: 'pending', nextAttemptAt: new Date(T0 + SECOND + DAY) });
      expect(await store.deliveries.recover(a, new Date(T0 - DAY))).toBe(0);
      clock.advance(1);
      const reclaimed = await store.deliveries.claim('w1', deliveryClaim(10));
      expect(ids(reclaimed)).toEqual(sorted([old.id, recent.id]));
      expect(reclaimed.map((d) => d.retryIndex)).toEqual([0, 0]);
    }),
  );

  it(
    'deliveries: failPending fails every pending delivery of an endpoint with the error, and says how many',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [going, staying] = [await addEndpoint(store, account), await addEndpoint(store, account)];
      const [done, leased, queued] = await queueDeliveries(store, clock, account, going.id, 3);
      const [other] = await queueDeliveries(store, clock, account, staying.id, 1);
      await settleAll(store, clock, (id) => (id === done ? succeeded : id === leased ? 'hold' : { state: 'pending', nextAttemptAt: clock.at(-1) }));
      expect(await store.deliveries.failPending(going.id, 'endpoint deleted')).toBe(2);
      for (const id of [leased!, queued!]) expect(await store.deliveries.get(id)).toMatchObject({ state: 'failed', lastError: 'endpoint deleted' });
      expect(await store.deliveries.get(done!)).toMatchObject({ state: 'succeeded' });
      expect(await store.deliveries.get(other!)).toMatchObject({ state: 'pending' });
      expect(await store.deliveries.failPending(going.id, 'endpoint deleted')).toBe(0);
      expect(ids(await store.deliveries.claim('w1', deliveryClaim(10)))).toEqual([other]);
    }),
  );

  it(
    'deliveries: countByState has every state; queue stats count due, live leases and the oldest due time',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      expect(await store.deliveries.countByState()).toEqual({ pending: 0, succeeded: 0, failed: 0 });
      expect(await store.deliveries.queueStats()).toEqual({ due: 0, inFlight: 0, oldestDueAt: null });
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const [ea, eb] = [await addEndpoint(store, a), await addEndpoint(store, b)];
      const [d1, d2, d3] = await queueDeliveries(store, clock, a, ea.id, 3);
      const [b1] = await queueDeliveries(store, clock, b, eb.id, 1);
      expect(await store.deliveries.countByState(a)).toEqual({ pending: 3, succeeded: 0, failed: 0 });
      expect(await store.deliveries.queueStats()).toEqual({ due: 4, inFlight: 0, oldestDueAt: new Date(T0) });
      expect(ids(await store.deliveries.claim('w1', deliveryClaim(1, { leaseMs: 2 * MINUTE })))).toEqual([d1]);
      expect(await store.deliveries.queueStats()).toEqual({ due: 3, inFlight: 1, oldestDueAt: new Date(T0 + SECOND) });
      const later = { state: 'pending' as const, nextAttemptAt: clock.at(10 * MINUTE) };
      await store.deliveries.settle('w1', [{ deliveryId: d1!, attempt: sampleAttempt(clock.at()), next: later }]);
      expect(await store.deliveries.queueStats()).toEqual({ due: 3, inFlight: 0, oldestDueAt: new Date(T0 + SECOND) });
      expect(ids(await store.deliveries.claim('w1', deliveryClaim(10, { leaseMs: 2 * MINUTE })))).toEqual(sorted([d2!, d3!, b1!]));
      const ok = sampleAttempt(clock.at(), { status: 200, error: null });
      await store.deliveries.settle('w1', [
        { deliveryId: d2!, attempt: ok, next: succeeded },
        { deliveryId: d3!, attempt: sampleAttempt(clock.at()), next: failed },
      ]);
      expect(await store.deliveries.queueStats()).toEqual({ due: 0, inFlight: 1, oldestDueAt: null });
      expect(await store.deliveries.countByState(a)).toEqual({ pending: 1, succeeded: 1, failed: 1 });
      expect(await store.deliveries.countByState(b)).toEqual({ pending: 1, succeeded: 0, failed: 0 });
      expect(await store.deliveries.countByState(a + b + 1000)).toEqual({ pending: 0, succeeded: 0, failed: 0 });
      expect(await store.deliveries.countByState()).toEqual({ pending: 2, succeeded: 1, failed: 1 });
      // b1's lease runs out: due again, not in flight.
      clock.advance(2 * MINUTE + 1);
      expect(await store.deliveries.queueStats()).toMatchObject({ due: 1, inFlight: 0 });
      clock.advance(10 * MINUTE);
      expect(await store.deliveries.queueStats()).toMatchObject({ due: 2, inFlight: 0 });
    }),
  );

  it(
    "deliveries: list gives an account's deliveries oldest first, filtered by state, endpoint, export and time, after an id",
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const [e, f, g] = [await addEndpoint(store, a), await addEndpoint(store, a), await addEndpoint(store, b)];
      const [x, y] = ['6f1c2a8e-0000-4000-8000-00000000000a', '6f1c2a8e-0000-4000-8000-00000000000b'];
      clock.advance(SECOND);
      const [l1] = await queueDeliveries(store, clock, a, e.id, 1, { exportId: x });
      const [l2] = await queueDeliveries(store, clock, a, f.id, 1, { exportId: x });
      const [l3] = await queueDeliveries(store, clock, a, e.id, 1, { exportId: y });
      const [l4] = await queueDeliveries(store, clock, a, e.id, 1, { exportId: null });
      const [m1] = await queueDeliveries(store, clock, b, g.id, 1);
      await settleAll(store, clock, (id) => (id === l2 ? succeeded : 'hold'));

      const list = async (accountId: number, query: DeliveryQuery) => (await store.deliveries.list(accountId, query)).map((d) => d.id);
      expect(await list(a, { limit: 10 })).toEqual([l1, l2, l3, l4]);
      expect(await list(a, { limit: 2 })).toEqual([l1, l2]);
      expect(await list(a, { limit: 10, startingAfter: l2 })).toEqual([l3, l4]);
      expect(await list(a, { limit: 1, startingAfter: l2 })).toEqual([l3]);
      expect(await list(a, { limit: 10, state: 'succeeded' })).toEqual([l2]);
      expect(await list(a, { limit: 10, state: 'pending' })).toEqual([l1, l3, l4]);
      expect(await list(a, { limit: 10, state: 'failed' })).toEqual([]);
      expect(await list(a, { limit: 10, endpointId: e.id })).toEqual([l1, l3, l4]);
      expect(await list(a, { limit: 10, endpointId: f.id })).toEqual([l2]);
      expect(await list(a, { limit: 10, exportId: x })).toEqual([l1, l2]);
      expect(await list(a, { limit: 10, exportId: y })).toEqual([l3]);
      expect(await list(a, { limit: 10, since: new Date(T0 + 2.5 * SECOND) })).toEqual([l3, l4]);
      expect(await list(a, { limit: 10, endpointId: e.id, exportId: x })).toEqual([l1]);
      expect(await list(a, { limit: 1, endpointId: e.id, startingAfter: l1 })).toEqual([l3]);
      expect(await list(a, { limit: 10, endpointId: g.id })).toEqual([]);
      expect(await list(b, { limit: 10 })).toEqual([m1]);
      expect((await store.deliveries.list(a, { limit: 1, state: 'succeeded' }))[0]).toEqual(withoutLog(await store.deliveries.get(l2!)));
    }),
  );
}
