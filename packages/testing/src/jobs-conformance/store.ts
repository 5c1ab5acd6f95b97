import { expect, it } from 'vitest';
import { addEndpoint, deliveryClaim, pendingDelivery } from './delivery-steps.js';
import { claimOf, queuedExport } from './export-steps.js';
import {
  newAccount,
  sampleApiKey,
  sampleAttempt,
  sampleDelivery,
  sampleEndpoint,
  sampleEvent,
  sampleExport,
  sampleImplicitEndpoint,
  sampleResult,
  sampleSchedule,
  sampleVersion,
} from './fixtures.js';
import { MINUTE, SECOND, T0, type Run } from './harness.js';

export function describeStore(run: Run): void {
  it(
    'transaction: changes made through several parts commit together, and fn’s value is returned',
    run(async (s) => {
      const { store, clock, location } = await s.fresh();
      const observer = await s.open(location, clock);
      const made = await store.transaction(async (tx) => {
        const account = await tx.accounts.create({ name: 'in a transaction', createdAt: clock.at() });
        const key = sampleApiKey(account.id, clock.at());
        expect(await tx.accounts.addKey(key)).toBe(true);
        await tx.settings.put('signing.seed', 'seed');
        const endpoint = sampleImplicitEndpoint(account.id, { createdAt: clock.at() });
        await tx.endpoints.insert(endpoint);
        const job = sampleExport(account.id, { requestedAt: clock.at(), endpointId: endpoint.id });
        await tx.exports.insert(job);
        // The transaction reads its own writes.
        expect(await tx.exports.get(job.id)).toEqual(queuedExport(job));
        const event = sampleEvent(account.id, { type: 'export.requested', exportId: job.id, created: clock.at() });
        expect(await tx.events.insert([event])).toEqual([event]);
        const delivery = sampleDelivery(account.id, endpoint.id, { exportId: job.id, messageId: event.id, createdAt: clock.at() });
        await tx.deliveries.insert([delivery]);
        expect(await tx.versions.insert(sampleVersion(1, 'cur_1', null))).toBe(true);
        const schedule = await tx.schedules.upsert(sampleSchedule({ accountId: account.id }));
        return { account, key, endpoint, job, event, delivery, schedule };
      });
      for (const reader of [store, observer]) {
        expect(await reader.accounts.get(made.account.id)).toEqual(made.account);
        expect(await reader.accounts.findKey(made.key.keyHash)).toMatchObject({ id: made.key.id, revokedAt: null });
        expect(await reader.settings.get('signing.seed')).toBe('seed');
        expect(await reader.endpoints.get(made.endpoint.id)).toMatchObject({ ...made.endpoint, enabled: true });
        expect(await reader.exports.get(made.job.id)).toEqual(queuedExport(made.job));
        expect(await reader.events.get(made.event.id)).toEqual(made.event);
        expect(await reader.deliveries.get(made.delivery.id)).toEqual(pendingDelivery(made.delivery, made.endpoint.url, new Date(T0)));
        expect(await reader.versions.find('fees', { latest: true })).toMatchObject({ cursor: 'cur_1' });
        expect(await reader.schedules.get(made.schedule.id)).toEqual(made.schedule);
      }
    }),
  );

  it(
    'transaction: a throw rolls back what every part did, and the error is rethrown',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store, 'existing', clock.at());
      const key = sampleApiKey(account, clock.at());
      await store.accounts.addKey(key);
      await store.settings.put('kept', 'before');
      const endpoint = await addEndpoint(store, account, { createdAt: clock.at() });
      const existing = sampleExport(account, { requestedAt: clock.at() });
      await store.exports.insert(existing);
      clock.advance(SECOND);

      const fresh = {
        key: sampleApiKey(account, clock.at()),
        endpoint: sampleEndpoint(account, { createdAt: clock.at() }),
        job: sampleExport(account, { requestedAt: clock.at() }),
        event: sampleEvent(account, { created: clock.at() }),
        schedule: sampleSchedule({ accountId: account }),
      };
      const delivery = sampleDelivery(account, endpoint.id, { createdAt: clock.at() });
      const boom = new Error('the engine changed its mind');
      await expect(
        store.transaction(async (tx) => {
          await tx.accounts.create({ name: 'rolled back', createdAt: clock.at() });
          await tx.accounts.addKey(fresh.key);
          await tx.accounts.revokeKey(key.id, clock.at());
          await tx.settings.put('kept', 'after');
          await tx.settings.putIfAbsent('new', 'value');
          await tx.endpoints.insert(fresh.endpoint);
          expect(await tx.endpoints.disable(endpoint.id, 'gone', clock.at())).toBe(true);
          await tx.exports.insert(fresh.job);
          expect(await tx.exports.claim('w1', claimOf(10))).toHaveLength(2);
          await tx.events.insert([fresh.event]);
          await tx.deliveries.insert([delivery]);
          expect(await tx.versions.insert(sampleVersion(1, 'cur_1', null))).toBe(true);
          await tx.schedules.upsert(fresh.schedule);
          throw boom;
        }),
      ).rejects.toBe(boom);

      expect((await store.accounts.list()).map((a) => a.id)).toEqual([account]);
      expect(await store.accounts.getKey(fresh.key.id)).toBeNull();
      expect(await store.accounts.getKey(key.id)).toMatchObject({ revokedAt: null });
      expect(await store.accounts.countActiveKeys()).toBe(1);
      expect(await store.settings.get('kept')).toBe('before');
      expect(await store.settings.get('new')).toBeNull();
      expect(await store.endpoints.get(fresh.endpoint.id)).toBeNull();
      expect(await store.endpoints.get(endpoint.id)).toMatchObject({ enabled: true, disabledReason: null });
      expect(await store.exports.get(fresh.job.id)).toBeNull();
      expect(await store.exports.get(existing.id)).toEqual(queuedExport(existing));
      expect(await store.events.get(fresh.event.id)).toBeNull();
      expect(await store.deliveries.get(delivery.id)).toBeNull();
      expect(await store.versions.find('fees', { latest: true })).toBeNull();
      expect(await store.schedules.get(fresh.schedule.id)).toBeNull();
      // Nothing half-done is left in the way either.
      expect(await store.events.insert([fresh.event])).toEqual([fresh.event]);
      expect(await store.versions.insert(sampleVersion(1, 'cur_1', null))).toBe(true);
      expect((await store.exports.claim('w2', claimOf(10))).map((j) => j.id)).toEqual([existing.id]);
    }),
  );

  it(
    'transaction: a call on the store itself while a transaction is open runs on its own, not in that transaction',
    run(async (s) => {
      const { store } = await s.fresh();
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const boom = new Error('rolled back on purpose');
      const rolledBack = store.transaction(async (tx) => {
        await tx.settings.put('inside', 'x');
        entered();
        await gate;
        throw boom;
      });
      // (A transaction that fails before reaching the gate ends the test here instead of hanging it.)
      await Promise.race([inside, rolledBack]);
      // Not awaited yet: a store may make it wait for the open transaction to end.
      const outside = store.settings.put('outside', 'y');
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      release();
      await expect(rolledBack).rejects.toBe(boom);
      await outside;
      expect(await store.settings.get('outside')).toBe('y');
      expect(await store.settings.get('inside')).toBeNull();
    }),
  );

  it(
    'restart: a store opened again on the same location sees everything, leases included',
    run(async (s) => {
      const { store: before, clock, location } = await s.fresh();
      const account = await newAccount(before, 'durable', clock.at());
      const key = sampleApiKey(account, clock.at());
      await before.accounts.addKey(key);
      await before.accounts.touchKey(key.id, clock.at(5));
      await before.settings.putIfAbsent('instance.id', 'abc');
      const endpoint = await addEndpoint(before, account, { createdAt: clock.at() });
      await before.endpoints.markFailing(endpoint.id, clock.at());
      const implicit = sampleImplicitEndpoint(account, { createdAt: clock.at() });
      await before.endpoints.insert(implicit);

      const done = sampleExport(account, { requestedAt: clock.at(), endpointId: implicit.id, split: { maxFileRows: 10 } });
      await before.exports.insert(done);
      expect(await before.exports.claim('w1', claimOf(1))).toHaveLength(1);
      expect(await before.exports.complete(done.id, 'w1', sampleResult(clock.at()))).toBe(true);
      await before.exports.recordDownload({ exportId: done.id, at: clock.at(), bytes: 345, client: '203.0.113.7', range: null });
      clock.advance(SECOND);
      const running = sampleExport(account, { requestedAt: clock.at() });
      await before.exports.insert(running);
      expect(await before.exports.claim('w1', claimOf(1, { leaseMs: 10 * MINUTE }))).toHaveLength(1);
      expect(await before.exports.heartbeat(running.id, 'w1', 10 * MINUTE, { rows: 7, bytes: 70 })).toBe(true);

      const event = sampleEvent(account, { exportId: done.id, created: clock.at() });
      await before.events.insert([event]);
      const tried = sampleDelivery(account, endpoint.id, { createdAt: clock.at() });
      await before.deliveries.insert([tried]);
      expect(await before.deliveries.claim('d1', deliveryClaim(1))).toHaveLength(1);
      const attempt = sampleAttempt(clock.at());
      await before.deliveries.settle('d1', [{ deliveryId: tried.id, attempt, next: { state: 'pending', nextAttemptAt: clock.at(MINUTE) } }]);
      const leased = sampleDelivery(account, endpoint.id, { createdAt: clock.at() });
      await before.deliveries.insert([leased]);
      expect(await before.deliveries.claim('d1', deliveryClaim(1, { leaseMs: 10 * MINUTE }))).toHaveLength(1);

      await before.versions.insert(sampleVersion(1, 'cur_1', null));
      await before.versions.insert(sampleVersion(2, 'cur_2', 'cur_1'));
      await before.versions.markPruned('fees', 1, clock.at());
      const schedule = await before.schedules.upsert(sampleSchedule({ accountId: account }));
      await before.schedules.claimTick(schedule.id, schedule.nextRunAt, new Date(schedule.nextRunAt.getTime() + MINUTE), clock.at());

      const snapshot = async (store: typeof before) => ({
        accounts: await store.accounts.list(),
        keys: await store.accounts.listKeys(account),
        setting: await store.settings.get('instance.id'),
        endpoints: [await store.endpoints.get(endpoint.id), await store.endpoints.findImplicit(account, implicit.url, implicit.scheme)],
        exports: await store.exports.list(account, { limit: 10 }),
        exportCounts: await store.exports.countByState(),
        events: await store.events.list(account, { limit: 10 }),
        deliveries: [await store.deliveries.get(tried.id), await store.deliveries.get(leased.id)],
        deliveryCounts: await store.deliveries.countByState(),
        versions: await store.versions.list('fees', { order: 'asc', limit: 10 }),
        schedules: await store.schedules.list({}),
      });
      const saved = await snapshot(before);
      expect(saved.exports).toHaveLength(2);
      expect(saved.deliveries[0]).toMatchObject({ attempts: 1, attemptLog: [attempt] });
      await s.close(before);

      const after = await s.open(location, clock);
      expect(await snapshot(after)).toEqual(saved);
      // The leases held before the restart still hold, and their owners still hold them.
      expect(await after.exports.claim('w2', claimOf(5))).toEqual([]);
      expect(await after.exports.heartbeat(running.id, 'w1', 10 * MINUTE, { rows: 8, bytes: 80 })).toBe(true);
      expect(await after.deliveries.claim('d2', deliveryClaim(5))).toEqual([]);
      expect(await after.deliveries.settle('d1', [{ deliveryId: leased.id, attempt, next: { state: 'succeeded' } }])).toHaveLength(1);
    }),
  );

  it(
    'clock: without an injected clock the store keeps the wall clock',
    run(async (s) => {
      const store = await s.open(await s.newLocation());
      const account = await newAccount(store);
      const job = sampleExport(account, { requestedAt: new Date(Date.now() - SECOND) });
      await store.exports.insert(job);
      const before = Date.now();
      const [claimed] = await store.exports.claim('w1', claimOf(1));
      const after = Date.now();
      expect(claimed?.id).toBe(job.id);
      expect(claimed!.startedAt!.getTime()).toBeGreaterThanOrEqual(before);
      expect(claimed!.startedAt!.getTime()).toBeLessThanOrEqual(after);
      expect(await store.exports.claim('w2', claimOf(1))).toEqual([]);
      expect(await store.exports.retryLater(job.id, 'w1', 'source down', new Date(Date.now() + 10 * MINUTE))).toBe(true);
      expect(await store.exports.claim('w2', claimOf(1))).toEqual([]);
      expect(await store.exports.queueStats()).toEqual({ due: 0, inFlight: 0, oldestDueAt: null });

      const endpoint = await addEndpoint(store, account);
      const delivery = sampleDelivery(account, endpoint.id);
      await store.deliveries.insert([delivery]);
      expect((await store.deliveries.get(delivery.id))!.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect((await store.deliveries.claim('d1', deliveryClaim(5))).map((d) => d.id)).toEqual([delivery.id]);
      expect(await store.deliveries.claim('d2', deliveryClaim(5))).toEqual([]);
      expect(await store.deliveries.queueStats()).toEqual({ due: 0, inFlight: 1, oldestDueAt: null });
    }),
  );
}
