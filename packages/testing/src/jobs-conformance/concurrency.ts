import { expect, it } from 'vitest';
import type { JobStore } from '@ferry/core';
import { sampleDelivery, sampleEndpoint, sampleExport } from './fixtures.js';
import { MINUTE, type Run, type Session } from './harness.js';

/** Stores opened on one location (as that many processes would) and the work they share out. */
const scale = { stores: 8, exports: 2000, deliveries: 2000 };

const BATCH = 25;
/** Empty claims in a row after which a worker gives up although work is left (the test then fails). */
const GIVE_UP_AFTER = 200;

async function openMany(s: Session, location: string, count: number): Promise<JobStore[]> {
  const stores: JobStore[] = [];
  for (let i = 0; i < count; i++) stores.push(await s.open(location));
  return stores;
}

/**
 * Every store claims in batches, all at once, until nothing is due. An empty claim while work is
 * left (another claimer held the rows) is retried.
 */
async function claimAll(stores: JobStore[], claim: (store: JobStore, owner: string) => Promise<string[]>, due: (store: JobStore) => Promise<number>): Promise<string[][]> {
  return Promise.all(
    stores.map(async (store, i) => {
      const mine: string[] = [];
      for (let empty = 0; empty < GIVE_UP_AFTER; ) {
        const got = await claim(store, `worker-${i}`);
        mine.push(...got);
        if (got.length > 0) empty = 0;
        else if ((await due(store)) === 0) break;
        else empty++;
      }
      return mine;
    }),
  );
}

function expectEachOnce(claimed: string[][], expected: readonly string[]): void {
  const all = claimed.flat();
  const seen = new Map<string, number>();
  for (const id of all) seen.set(id, (seen.get(id) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  expect(twice, 'claimed more than once').toEqual([]);
  expect(all.length).toBe(expected.length);
  expect([...seen.keys()].sort()).toEqual([...expected].sort());
}

export function describeConcurrency(run: Run): void {
  it(
    `concurrency: ${scale.stores} stores on one location claim ${scale.exports} exports between them, each exactly once`,
    run(async (s) => {
      const location = await s.newLocation();
      const stores = await openMany(s, location, scale.stores);
      const expected: string[] = [];
      await stores[0]!.transaction(async (tx) => {
        const accounts: number[] = [];
        for (let i = 0; i < 20; i++) accounts.push((await tx.accounts.create({ name: `tenant ${i}`, createdAt: new Date() })).id);
        const since = Date.now() - 10 * MINUTE;
        for (let i = 0; i < scale.exports; i++) {
          const job = sampleExport(accounts[i % accounts.length]!, { requestedAt: new Date(since + i) });
          await tx.exports.insert(job);
          expected.push(job.id);
        }
      });
      const claimed = await claimAll(
        stores,
        async (store, owner) => (await store.exports.claim(owner, { limit: BATCH, leaseMs: 30 * MINUTE, maxRunningPerAccount: scale.exports })).map((j) => j.id),
        async (store) => (await store.exports.queueStats()).due,
      );
      expectEachOnce(claimed, expected);
      expect(await stores[1]!.exports.countByState()).toEqual({ queued: 0, running: scale.exports, completed: 0, failed: 0, expired: 0 });
    }),
    180_000,
  );

  it(
    `concurrency: ${scale.stores} stores on one location claim ${scale.deliveries} deliveries between them, each exactly once`,
    run(async (s) => {
      const location = await s.newLocation();
      const stores = await openMany(s, location, scale.stores);
      const expected: string[] = [];
      await stores[0]!.transaction(async (tx) => {
        const account = (await tx.accounts.create({ name: 'tenant', createdAt: new Date() })).id;
        const endpoints: string[] = [];
        for (let i = 0; i < 10; i++) {
          const endpoint = sampleEndpoint(account, { url: `https://hooks.example.com/${i}` });
          await tx.endpoints.insert(endpoint);
          endpoints.push(endpoint.id);
        }
        const batch = [];
        for (let i = 0; i < scale.deliveries; i++) batch.push(sampleDelivery(account, endpoints[i % endpoints.length]!));
        await tx.deliveries.insert(batch);
        expected.push(...batch.map((d) => d.id));
      });
      const claimed = await claimAll(
        stores,
        async (store, owner) =>
          (await store.deliveries.claim(owner, { limit: BATCH, leaseMs: 30 * MINUTE, maxInFlightPerEndpoint: scale.deliveries })).map((d) => d.id),
        async (store) => (await store.deliveries.queueStats()).due,
      );
      expectEachOnce(claimed, expected);
      expect(await stores[1]!.deliveries.queueStats()).toEqual({ due: 0, inFlight: scale.deliveries, oldestDueAt: null });
    }),
    180_000,
  );
}
