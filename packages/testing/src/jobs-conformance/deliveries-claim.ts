import { expect, it } from 'vitest';
import { addEndpoint, deliveryClaim, pendingDelivery, queueDeliveries, succeeded, withoutLog } from './delivery-steps.js';
import { newAccount, sampleAttempt, sampleDelivery } from './fixtures.js';
import { ids, MINUTE, SECOND, sorted, T0, type Run } from './harness.js';

export function describeDeliveryClaims(run: Run): void {
  it(
    'deliveries: insert queues deliveries due now and skips ids stored before; get round-trips them with the endpoint URL',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const endpoint = await addEndpoint(store, account, { url: 'https://hooks.example.com/a?x=1' });
      const first = sampleDelivery(account, endpoint.id, { createdAt: clock.at(-5), exportId: '6f1c2a8e-0000-4000-8000-000000000001' });
      const second = sampleDelivery(account, endpoint.id, {
        messageId: 'evt_shared',
        eventType: 'dataset.version.published',
        headers: {},
        createdAt: clock.at(-4),
      });
      await store.deliveries.insert([first, second]);
      clock.advance(SECOND);
      const third = sampleDelivery(account, endpoint.id, { createdAt: clock.at() });
      await store.deliveries.insert([{ ...first, body: '{"changed":true}', headers: { changed: 'yes' } }, third]);
      await store.deliveries.insert([]);
      expect(await store.deliveries.get(first.id)).toEqual(pendingDelivery(first, endpoint.url, new Date(T0)));
      expect(await store.deliveries.get(second.id)).toEqual(pendingDelivery(second, endpoint.url, new Date(T0)));
      expect(await store.deliveries.get(third.id)).toEqual(pendingDelivery(third, endpoint.url, new Date(T0 + SECOND)));
      expect((await store.deliveries.get(first.id))!.createdAt.getTime()).toBe(T0 - 5);
      expect(await store.deliveries.get('msg_unknown')).toBeNull();
    }),
  );

  it(
    'deliveries: claim leases due deliveries earliest first, each with its endpoint and retry position 0',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [e1, e2] = [await addEndpoint(store, account), await addEndpoint(store, account, { url: 'https://hooks.example.com/two' })];
      const [d1] = await queueDeliveries(store, clock, account, e1.id, 1);
      const [d2] = await queueDeliveries(store, clock, account, e2.id, 1);
      const [d3] = await queueDeliveries(store, clock, account, e1.id, 1);
      const claimed = await store.deliveries.claim('w1', deliveryClaim(2));
      expect(ids(claimed)).toEqual(sorted([d1!, d2!]));
      const first = claimed.find((d) => d.id === d1);
      expect(first).toEqual({ ...withoutLog(await store.deliveries.get(d1!)), endpoint: await store.endpoints.get(e1.id), retryIndex: 0 });
      expect(first).toMatchObject({ state: 'pending', attempts: 0, url: e1.url, endpoint: { id: e1.id, url: e1.url, enabled: true } });
      expect(claimed.find((d) => d.id === d2)).toMatchObject({ endpointId: e2.id, url: e2.url, endpoint: { id: e2.id, url: e2.url }, retryIndex: 0 });
      expect(ids(await store.deliveries.claim('w2', deliveryClaim(2)))).toEqual([d3]);
      expect(await store.deliveries.claim('w3', deliveryClaim(2))).toEqual([]);
    }),
  );

  it(
    'deliveries: no endpoint has more than maxInFlightPerEndpoint live leases, counting leases held by other owners',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [busy, quiet] = [await addEndpoint(store, account), await addEndpoint(store, account)];
      const a = await queueDeliveries(store, clock, account, busy.id, 10);
      const [b0] = await queueDeliveries(store, clock, account, quiet.id, 1);
      const capped = deliveryClaim(8, { maxInFlightPerEndpoint: 4 });
      expect(ids(await store.deliveries.claim('w1', capped))).toEqual(sorted([a[0]!, a[1]!, a[2]!, a[3]!, b0!]));
      expect(await store.deliveries.claim('w2', capped)).toEqual([]);
      const attempt = { deliveryId: a[0]!, attempt: sampleAttempt(clock.at(), { status: 200, error: null }), next: succeeded };
      expect(await store.deliveries.settle('w1', [attempt])).toEqual([{ deliveryId: a[0], endpointId: busy.id, accountId: account, endpointFailing: false }]);
      expect(ids(await store.deliveries.claim('w2', capped))).toEqual([a[4]]);
      expect(await store.deliveries.claim('w2', capped)).toEqual([]);
      // Every lease runs out: the earliest due of the busy endpoint go first, up to the cap again.
      clock.advance(MINUTE + 1);
      expect(ids(await store.deliveries.claim('w3', capped))).toEqual(sorted([a[1]!, a[2]!, a[3]!, a[4]!, b0!]));
    }),
  );

  it(
    "deliveries: the claimer's own settling deliveries keep their leases but not their endpoint's slots; anyone else's still count",
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const endpoint = await addEndpoint(store, account);
      const a = await queueDeliveries(store, clock, account, endpoint.id, 8);
      const capped = deliveryClaim(8, { maxInFlightPerEndpoint: 3 });
      expect(ids(await store.deliveries.claim('w1', capped))).toEqual(sorted([a[0]!, a[1]!, a[2]!]));
      // a[0] and a[1] were answered; their settlement is not committed yet.
      const settling = [a[0]!, a[1]!];
      // Nobody else may count them out, or take them.
      expect(await store.deliveries.claim('w2', { ...capped, settling })).toEqual([]);
      // Their owner gets two more slots: a[2] and the two new ones are in flight, the cap.
      expect(ids(await store.deliveries.claim('w1', { ...capped, settling }))).toEqual(sorted([a[3]!, a[4]!]));
      expect(await store.deliveries.claim('w1', { ...capped, settling })).toEqual([]);
      // Once recorded they hold nothing, whatever the claimer says.
      const ok = (deliveryId: string) => ({ deliveryId, attempt: sampleAttempt(clock.at(), { status: 200, error: null }), next: succeeded });
      expect(await store.deliveries.settle('w1', settling.map(ok))).toHaveLength(2);
      expect(await store.deliveries.claim('w1', capped)).toEqual([]);
      // An id its owner does not hold is no discount: a[2] is w1's, a[5] nobody's.
      expect(await store.deliveries.claim('w2', { ...capped, settling: [a[2]!, a[5]!] })).toEqual([]);
      for (const id of [a[0]!, a[1]!]) expect(await store.deliveries.get(id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    }),
  );

  it(
    'deliveries: a leased delivery is claimed again only once its lease runs out, and the old owner then settles nothing',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const endpoint = await addEndpoint(store, account);
      const [id] = await queueDeliveries(store, clock, account, endpoint.id, 1);
      expect(ids(await store.deliveries.claim('w1', deliveryClaim(5, { leaseMs: 1000 })))).toEqual([id]);
      clock.advance(999);
      expect(await store.deliveries.claim('w2', deliveryClaim(5))).toEqual([]);
      clock.advance(2);
      expect(await store.deliveries.claim('w2', deliveryClaim(5))).toMatchObject([{ id, attempts: 0, retryIndex: 0 }]);
      const done = { deliveryId: id!, attempt: sampleAttempt(clock.at(), { status: 200, error: null }), next: succeeded };
      expect(await store.deliveries.settle('w1', [done])).toEqual([]);
      expect(await store.deliveries.get(id!)).toMatchObject({ state: 'pending', attempts: 0, attemptLog: [] });
      expect(await store.deliveries.settle('w2', [done])).toEqual([{ deliveryId: id, endpointId: endpoint.id, accountId: account, endpointFailing: false }]);
      expect(await store.deliveries.get(id!)).toMatchObject({ state: 'succeeded', attempts: 1 });
    }),
  );

  it(
    'deliveries: settle says which endpoints are in a run of failures, as they stand when it runs',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [failing, healthy] = [await addEndpoint(store, account), await addEndpoint(store, account)];
      const [f] = await queueDeliveries(store, clock, account, failing.id, 1);
      const [h] = await queueDeliveries(store, clock, account, healthy.id, 1);
      expect(await store.deliveries.claim('w1', deliveryClaim(2))).toHaveLength(2);
      // Marked after the claim, as another worker's failure would: the settlement still sees it.
      await store.endpoints.markFailing(failing.id, clock.at());
      const ok = (deliveryId: string) => ({ deliveryId, attempt: sampleAttempt(clock.at(), { status: 200, error: null }), next: succeeded });
      expect(await store.deliveries.settle('w1', [ok(h!), ok(f!)])).toEqual([
        { deliveryId: h, endpointId: healthy.id, accountId: account, endpointFailing: false },
        { deliveryId: f, endpointId: failing.id, accountId: account, endpointFailing: true },
      ]);
    }),
  );

  it(
    'deliveries: settle logs each attempt in order, counts it, moves the delivery on and frees the lease',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const endpoint = await addEndpoint(store, account);
      const [id, other] = await queueDeliveries(store, clock, account, endpoint.id, 2);
      expect(ids(await store.deliveries.claim('w1', deliveryClaim(1)))).toEqual([id]);
      const first = sampleAttempt(new Date(T0 + 2 * SECOND + 7));
      const settled = await store.deliveries.settle('w1', [
        { deliveryId: id!, attempt: first, next: { state: 'pending', nextAttemptAt: clock.at(MINUTE) } },
        { deliveryId: other!, attempt: first, next: succeeded },
      ]);
      expect(settled).toEqual([{ deliveryId: id, endpointId: endpoint.id, accountId: account, endpointFailing: false }]);
      expect(await store.deliveries.get(id!)).toMatchObject({
        state: 'pending',
        attempts: 1,
        lastStatus: 500,
        lastError: 'HTTP 500',
        nextAttemptAt: clock.at(MINUTE),
        attemptLog: [first],
      });
      expect(await store.deliveries.get(other!)).toMatchObject({ state: 'pending', attempts: 0, attemptLog: [] });
      expect(await store.deliveries.queueStats()).toMatchObject({ inFlight: 0 });
      expect(ids(await store.deliveries.claim('w2', deliveryClaim(5, { leaseMs: 10 * MINUTE })))).toEqual([other]);
      expect(await store.deliveries.claim('w2', deliveryClaim(5))).toEqual([]);

      clock.advance(MINUTE + 1);
      expect(await store.deliveries.claim('w1', deliveryClaim(5))).toMatchObject([{ id, attempts: 1, retryIndex: 1 }]);
      const second = sampleAttempt(clock.at(), { status: null, error: 'connect ECONNREFUSED', responseBody: null, durationMs: 3 });
      // Due again at once: the lease is free, so another worker takes it without waiting.
      await store.deliveries.settle('w1', [{ deliveryId: id!, attempt: second, next: { state: 'pending', nextAttemptAt: clock.at(-1) } }]);
      expect(await store.deliveries.claim('w3', deliveryClaim(5))).toMatchObject([{ id, attempts: 2, retryIndex: 2, lastStatus: null, lastError: 'connect ECONNREFUSED' }]);
      const third = sampleAttempt(clock.at(5), { status: 200, error: null, responseBody: 'ok' });
      expect(await store.deliveries.settle('w3', [{ deliveryId: id!, attempt: third, next: succeeded }])).toHaveLength(1);
      expect(await store.deliveries.get(id!)).toMatchObject({ state: 'succeeded', attempts: 3, lastStatus: 200, lastError: null, attemptLog: [first, second, third] });
      expect((await store.deliveries.get(id!))!.attemptLog[0]!.at.getTime()).toBe(T0 + 2 * SECOND + 7);
      expect(await store.deliveries.settle('w3', [{ deliveryId: id!, attempt: third, next: succeeded }])).toEqual([]);
      expect(await store.deliveries.get(id!)).toMatchObject({ attempts: 3 });

      const gone = sampleAttempt(clock.at(), { status: 410, error: 'HTTP 410', responseBody: null });
      await store.deliveries.settle('w2', [{ deliveryId: other!, attempt: gone, next: { state: 'failed' } }]);
      expect(await store.deliveries.get(other!)).toMatchObject({ state: 'failed', attempts: 1, lastStatus: 410, lastError: 'HTTP 410', attemptLog: [gone] });
      expect(await store.deliveries.claim('w4', deliveryClaim(5))).toEqual([]);
    }),
  );

  it(
    'deliveries: settle and claim in one transaction commit together and free the endpoint for the next',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [e, f] = [await addEndpoint(store, account), await addEndpoint(store, account)];
      const [d1, d2, d3] = await queueDeliveries(store, clock, account, e.id, 3);
      const [f1] = await queueDeliveries(store, clock, account, f.id, 1);
      const oneEach = deliveryClaim(10, { maxInFlightPerEndpoint: 1 });
      expect(ids(await store.deliveries.claim('w1', oneEach))).toEqual(sorted([d1!, f1!]));
      const ok = sampleAttempt(clock.at(), { status: 204, error: null, responseBody: null });
      const { settled, next } = await store.transaction(async (tx) => ({
        settled: await tx.deliveries.settle('w1', [
          { deliveryId: d1!, attempt: ok, next: succeeded },
          { deliveryId: f1!, attempt: ok, next: { state: 'failed' } },
        ]),
        next: await tx.deliveries.claim('w1', oneEach),
      }));
      expect([...settled].sort((x, y) => x.deliveryId.localeCompare(y.deliveryId))).toEqual(
        [
          { deliveryId: d1, endpointId: e.id, accountId: account, endpointFailing: false },
          { deliveryId: f1, endpointId: f.id, accountId: account, endpointFailing: false },
        ].sort((x, y) => x.deliveryId!.localeCompare(y.deliveryId!)),
      );
      expect(next).toMatchObject([{ id: d2, endpoint: { id: e.id }, retryIndex: 0 }]);
      expect(await store.deliveries.get(d1!)).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect(await store.deliveries.get(f1!)).toMatchObject({ state: 'failed', attempts: 1 });
      expect(await store.deliveries.claim('w2', oneEach)).toEqual([]);

      const boom = new Error('worker crashed mid-batch');
      await expect(
        store.transaction(async (tx) => {
          await tx.deliveries.settle('w1', [{ deliveryId: d2!, attempt: ok, next: succeeded }]);
          await tx.deliveries.claim('w1', oneEach);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await store.deliveries.get(d2!)).toMatchObject({ state: 'pending', attempts: 0, attemptLog: [] });
      expect(await store.deliveries.claim('w2', oneEach)).toEqual([]);
      expect(await store.deliveries.settle('w1', [{ deliveryId: d2!, attempt: ok, next: succeeded }])).toHaveLength(1);
      expect(ids(await store.deliveries.claim('w2', oneEach))).toEqual([d3]);
    }),
  );
}
