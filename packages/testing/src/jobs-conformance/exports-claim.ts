import { expect, it } from 'vitest';
import { claimOf, queuedExport, queueExports } from './export-steps.js';
import { newAccount, sampleExport, sampleResult } from './fixtures.js';
import { ids, MINUTE, SECOND, sorted, T0, type Run } from './harness.js';

export function describeExportClaims(run: Run): void {
  it(
    'exports: a claim leases a due export to its owner, counts the attempt, sets startedAt and keeps everything else',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const job = sampleExport(account, { requestedAt: clock.at() });
      await store.exports.insert(job);
      clock.advance(5 * SECOND);
      const claimed = await store.exports.claim('w1', claimOf(5));
      expect(claimed).toEqual([{ ...queuedExport(job), state: 'running', attempts: 1, startedAt: new Date(T0 + 5 * SECOND) }]);
      expect(await store.exports.get(job.id)).toEqual(claimed[0]);
      expect(await store.exports.claim('w2', claimOf(5))).toEqual([]);
    }),
  );

  it(
    'exports: a heartbeat extends the lease; once it runs out another worker claims the export and the old owner changes nothing',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [id] = await queueExports(store, clock, account, 1);
      expect(ids(await store.exports.claim('w1', claimOf(1, { leaseMs: 1000 })))).toEqual([id]);
      clock.advance(500);
      expect(await store.exports.heartbeat(id!, 'w1', 1000, { rows: 10, bytes: 100 })).toBe(true);
      expect(await store.exports.get(id!)).toMatchObject({ state: 'running', progressRows: 10, progressBytes: 100 });
      clock.advance(700);
      // 1.2 s after the claim: the heartbeat's lease (to 1.5 s) still holds.
      expect(await store.exports.claim('w2', claimOf(1))).toEqual([]);
      clock.advance(301);
      const [again] = await store.exports.claim('w2', claimOf(1));
      expect(again).toMatchObject({ id, state: 'running', attempts: 2, progressRows: 0, progressBytes: 0, startedAt: clock.at() });
      expect(await store.exports.heartbeat(id!, 'w1', 1000, { rows: 20, bytes: 200 })).toBe(false);
      expect(await store.exports.complete(id!, 'w1', sampleResult(clock.at()))).toBe(false);
      expect(await store.exports.retryLater(id!, 'w1', 'source down', clock.at(MINUTE))).toBe(false);
      expect(await store.exports.release(id!, 'w1')).toBe(false);
      expect(await store.exports.fail(id!, 'w1', 'bad query')).toBe(false);
      expect(await store.exports.get(id!)).toEqual(again);
      expect(await store.exports.heartbeat(id!, 'w2', 1000, { rows: 1, bytes: 2 })).toBe(true);
      expect(await store.exports.get(id!)).toMatchObject({ state: 'running', attempts: 2, progressRows: 1, progressBytes: 2 });
    }),
  );

  it(
    "exports: claims fairly, an account's first export before another account's second, then by age",
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const [a, b, c] = [await newAccount(store), await newAccount(store), await newAccount(store)];
      const [a0, a1, a2] = await queueExports(store, clock, a, 3);
      const [b0, b1, b2] = await queueExports(store, clock, b, 3);
      const [c0] = await queueExports(store, clock, c, 1);
      expect(ids(await store.exports.claim('w1', claimOf(3)))).toEqual(sorted([a0!, b0!, c0!]));
      // a and b both run one: their second exports tie, and a's is older.
      expect(ids(await store.exports.claim('w1', claimOf(1)))).toEqual([a1]);
      // a runs two now, b one: b's second goes before a's third.
      expect(ids(await store.exports.claim('w1', claimOf(1)))).toEqual([b1]);
      expect(ids(await store.exports.claim('w1', claimOf(1)))).toEqual([a2]);
      expect(ids(await store.exports.claim('w1', claimOf(1)))).toEqual([b2]);
      expect(await store.exports.claim('w1', claimOf(1))).toEqual([]);
    }),
  );

  it(
    'exports: with 50 exports queued for one account and 1 for another, a claim of 2 takes one of each',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const [busy, quiet] = [await newAccount(store), await newAccount(store)];
      const many: string[] = [];
      await store.transaction(async (tx) => {
        for (let i = 0; i < 50; i++) {
          const job = sampleExport(busy, { requestedAt: clock.at() });
          await tx.exports.insert(job);
          many.push(job.id);
          clock.advance(10);
        }
      });
      const [single] = await queueExports(store, clock, quiet, 1);
      expect(ids(await store.exports.claim('w1', claimOf(2)))).toEqual(sorted([many[0]!, single!]));
      expect(ids(await store.exports.claim('w2', claimOf(2)))).toEqual(sorted([many[1]!, many[2]!]));
      expect((await store.exports.countByState()).running).toBe(4);
    }),
  );

  it(
    'exports: no account runs more than maxRunningPerAccount at once, across workers; dead leases do not count',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const [a0, a1, a2] = await queueExports(store, clock, a, 5);
      const [b0] = await queueExports(store, clock, b, 1);
      const capped = claimOf(10, { maxRunningPerAccount: 2 });
      expect(ids(await store.exports.claim('w1', capped))).toEqual(sorted([a0!, a1!, b0!]));
      expect(await store.exports.claim('w2', capped)).toEqual([]);
      expect(await store.exports.complete(a0!, 'w1', sampleResult(clock.at()))).toBe(true);
      clock.advance(10 * SECOND);
      expect(ids(await store.exports.claim('w2', capped))).toEqual([a2]);
      // a1 and b0's leases run out; a2's (taken 10 s later) still holds, so a gets one more.
      clock.advance(50 * SECOND + 1);
      const retaken = await store.exports.claim('w3', capped);
      expect(ids(retaken)).toEqual(sorted([a1!, b0!]));
      expect(retaken.map((j) => j.attempts)).toEqual([2, 2]);
      expect(await store.exports.claim('w3', capped)).toEqual([]);
      expect(await store.exports.countByState(a)).toEqual({ queued: 2, running: 2, completed: 1, failed: 0, expired: 0 });
    }),
  );

  it(
    'exports: queue stats count due exports (queued past runAfter, or running on a dead lease), live leases, and the oldest due time',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      expect(await store.exports.queueStats()).toEqual({ due: 0, inFlight: 0, oldestDueAt: null });
      const account = await newAccount(store);
      for (let i = 0; i < 3; i++) await store.exports.insert(sampleExport(account, { requestedAt: clock.at() }));
      expect(await store.exports.queueStats()).toEqual({ due: 3, inFlight: 0, oldestDueAt: new Date(T0) });
      const [x] = await store.exports.claim('w1', claimOf(1, { leaseMs: 2 * MINUTE }));
      expect(await store.exports.queueStats()).toEqual({ due: 2, inFlight: 1, oldestDueAt: new Date(T0) });
      expect(await store.exports.retryLater(x!.id, 'w1', 'source down', clock.at(MINUTE))).toBe(true);
      expect(await store.exports.queueStats()).toEqual({ due: 2, inFlight: 0, oldestDueAt: new Date(T0) });
      expect(await store.exports.claim('w1', claimOf(5, { leaseMs: 2 * MINUTE }))).toHaveLength(2);
      expect(await store.exports.queueStats()).toEqual({ due: 0, inFlight: 2, oldestDueAt: null });
      clock.advance(MINUTE + 1);
      expect(await store.exports.queueStats()).toEqual({ due: 1, inFlight: 2, oldestDueAt: new Date(T0 + MINUTE) });
      clock.advance(MINUTE);
      // Both leases ran out: their exports are due again, later than the retried one.
      expect(await store.exports.queueStats()).toEqual({ due: 3, inFlight: 0, oldestDueAt: new Date(T0 + MINUTE) });
    }),
  );

  it(
    'exports: an export waiting for its retry time is not claimed before it',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [id] = await queueExports(store, clock, account, 1);
      await store.exports.claim('w1', claimOf(1));
      expect(await store.exports.retryLater(id!, 'w1', 'source down', clock.at(10 * MINUTE))).toBe(true);
      clock.advance(10 * MINUTE - 1);
      expect(await store.exports.claim('w2', claimOf(1))).toEqual([]);
      clock.advance(2);
      expect(await store.exports.claim('w2', claimOf(1))).toMatchObject([{ id, attempts: 2, error: 'source down' }]);
    }),
  );
}
