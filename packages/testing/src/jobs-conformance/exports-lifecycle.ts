import { expect, it } from 'vitest';
import { claimOf, completeExport, failExport, queuedExport, queueExports, startExport } from './export-steps.js';
import { newAccount, SAMPLE_QUERY, sampleExport, sampleResult } from './fixtures.js';
import { DAY, SECOND, T0, type Run } from './harness.js';

export function describeExportLifecycle(run: Run): void {
  it(
    'exports: insert and get round-trip every field, the query exactly as sent',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const jobs = [
        sampleExport(account, {
          requestedAt: clock.at(-877),
          format: 'parquet',
          compression: 'zstd',
          endpointId: 'ep_one',
          notifyOnFailure: true,
          split: { maxFileRows: 1000, maxFileBytes: 5_000_000 },
        }),
        sampleExport(account, { requestedAt: clock.at(-500), compression: 'none', split: null, notifyOnFailure: false }),
        sampleExport(account, { requestedAt: clock.at(-1), split: { maxFileBytes: 1024 }, query: ['a', 1, null] }),
      ];
      for (const job of jobs) await store.exports.insert(job);
      for (const job of jobs) expect(await store.exports.get(job.id)).toEqual(queuedExport(job));
      expect((await store.exports.get(jobs[0]!.id))!.requestedAt.getTime()).toBe(T0 - 877);
      expect(JSON.stringify((await store.exports.get(jobs[0]!.id))!.query)).toBe(JSON.stringify(SAMPLE_QUERY));
      expect(await store.exports.get('00000000-0000-4000-8000-000000000000')).toBeNull();
    }),
  );

  it(
    'exports: a heartbeat records progress only for the lease holder of a running export',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const id = await startExport(store, clock, account, 'w1');
      expect(await store.exports.heartbeat(id, 'w1', 1000, { rows: 5, bytes: 50 })).toBe(true);
      expect(await store.exports.heartbeat(id, 'w1', 1000, { rows: 9_000_000_000, bytes: 12_345_678_901 })).toBe(true);
      expect(await store.exports.heartbeat(id, 'w2', 1000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.get(id)).toMatchObject({ state: 'running', progressRows: 9_000_000_000, progressBytes: 12_345_678_901 });
      const [queued] = await queueExports(store, clock, account, 1);
      expect(await store.exports.heartbeat(queued!, 'w1', 1000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.heartbeat('00000000-0000-4000-8000-000000000000', 'w1', 1000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.get(queued!)).toMatchObject({ state: 'queued', progressRows: 0, progressBytes: 0 });
    }),
  );

  it(
    'exports: complete stores the result and takes progress from it; only the lease holder completes, and only once',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const id = await startExport(store, clock, account, 'w1');
      await store.exports.heartbeat(id, 'w1', 60_000, { rows: 3, bytes: 4 });
      const result = sampleResult(new Date(T0 + 4 * SECOND + 789));
      expect(await store.exports.complete(id, 'w2', result)).toBe(false);
      expect(await store.exports.get(id)).toMatchObject({ state: 'running', result: null });
      expect(await store.exports.complete(id, 'w1', result)).toBe(true);
      const done = await store.exports.get(id);
      expect(done).toMatchObject({ state: 'completed', progressRows: 12, progressBytes: 345, attempts: 1 });
      expect(done!.result).toEqual(result);
      expect(done!.result!.finishedAt.getTime()).toBe(T0 + 4 * SECOND + 789);
      expect(await store.exports.complete(id, 'w1', sampleResult(clock.at()))).toBe(false);
      expect(await store.exports.heartbeat(id, 'w1', 60_000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.retryLater(id, 'w1', 'late', clock.at())).toBe(false);
      expect(await store.exports.release(id, 'w1')).toBe(false);
      expect(await store.exports.fail(id, 'w1', 'late')).toBe(false);
      expect(await store.exports.get(id)).toEqual(done);
      const [queued] = await queueExports(store, clock, account, 1);
      expect(await store.exports.complete(queued!, 'w1', result)).toBe(false);
      expect(await store.exports.get(queued!)).toMatchObject({ state: 'queued', result: null });
    }),
  );

  it(
    'exports: retryLater queues a running export again with its error, the attempt counted; only for the lease holder',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const id = await startExport(store, clock, account, 'w1');
      expect(await store.exports.retryLater(id, 'w2', 'source down', clock.at(DAY))).toBe(false);
      expect(await store.exports.get(id)).toMatchObject({ state: 'running', error: null });
      expect(await store.exports.retryLater(id, 'w1', 'source down', clock.at(DAY))).toBe(true);
      expect(await store.exports.get(id)).toMatchObject({ state: 'queued', error: 'source down', attempts: 1 });
      expect(await store.exports.retryLater(id, 'w1', 'again', clock.at(DAY))).toBe(false);
      expect(await store.exports.heartbeat(id, 'w1', 1000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.get(id)).toMatchObject({ state: 'queued', error: 'source down', attempts: 1 });
    }),
  );

  it(
    'exports: release queues a running export at once without counting the attempt; only for the lease holder',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const id = await startExport(store, clock, account, 'w1');
      await store.exports.heartbeat(id, 'w1', 60_000, { rows: 3, bytes: 4 });
      expect(await store.exports.release(id, 'w2')).toBe(false);
      expect(await store.exports.release(id, 'w1')).toBe(true);
      expect(await store.exports.get(id)).toMatchObject({ state: 'queued', attempts: 0 });
      expect(await store.exports.release(id, 'w1')).toBe(false);
      expect(await store.exports.heartbeat(id, 'w1', 1000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.claim('w2', claimOf(1))).toMatchObject([{ id, state: 'running', attempts: 1, progressRows: 0, progressBytes: 0 }]);
    }),
  );

  it(
    'exports: fail with an owner ends the running export it holds, with its error, finished now',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const [queued] = await queueExports(store, clock, account, 1);
      expect(await store.exports.fail(queued!, 'w1', 'bad query')).toBe(false);
      expect(await store.exports.get(queued!)).toMatchObject({ state: 'queued', error: null });
      expect(await store.exports.claim('w1', claimOf(1))).toHaveLength(1);
      expect(await store.exports.fail(queued!, 'w2', 'bad query')).toBe(false);
      clock.advance(3 * SECOND);
      expect(await store.exports.fail(queued!, 'w1', 'bad query')).toBe(true);
      expect(await store.exports.get(queued!)).toMatchObject({ state: 'failed', error: 'bad query', finishedAt: clock.at(), attempts: 1 });
      expect(await store.exports.fail(queued!, 'w1', 'again')).toBe(false);
      expect(await store.exports.heartbeat(queued!, 'w1', 1000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.claim('w2', claimOf(1))).toEqual([]);
      expect(await store.exports.get(queued!)).toMatchObject({ state: 'failed', error: 'bad query' });
    }),
  );

  it(
    'exports: a cancel (fail with owner null) ends a queued or a running export, never one that already ended',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const completed = await completeExport(store, clock, account, clock.at(DAY));
      const expired = await completeExport(store, clock, account, clock.at(DAY));
      expect(await store.exports.markExpired(expired)).toBe(true);
      const failed = await failExport(store, clock, account);
      const running = await startExport(store, clock, account, 'w1');
      const [queued] = await queueExports(store, clock, account, 1);

      expect(await store.exports.fail(queued!, null, 'cancelled by request')).toBe(true);
      expect(await store.exports.get(queued!)).toMatchObject({ state: 'failed', error: 'cancelled by request', finishedAt: clock.at() });
      expect(await store.exports.fail(queued!, null, 'cancelled by request')).toBe(false);
      expect(await store.exports.claim('w2', claimOf(5))).toEqual([]);

      expect(await store.exports.fail(running, null, 'cancelled by request')).toBe(true);
      expect(await store.exports.get(running)).toMatchObject({ state: 'failed', error: 'cancelled by request' });
      // Its worker learns at the next heartbeat, and can no longer finish it.
      expect(await store.exports.heartbeat(running, 'w1', 1000, { rows: 1, bytes: 1 })).toBe(false);
      expect(await store.exports.complete(running, 'w1', sampleResult(clock.at()))).toBe(false);
      expect(await store.exports.get(running)).toMatchObject({ state: 'failed', error: 'cancelled by request', result: null });

      expect(await store.exports.fail(completed, null, 'cancelled by request')).toBe(false);
      expect(await store.exports.fail(expired, null, 'cancelled by request')).toBe(false);
      expect(await store.exports.fail(failed, null, 'cancelled by request')).toBe(false);
      expect(await store.exports.fail('00000000-0000-4000-8000-000000000000', null, 'cancelled by request')).toBe(false);
      expect(await store.exports.get(completed)).toMatchObject({ state: 'completed', error: null });
      expect(await store.exports.get(expired)).toMatchObject({ state: 'expired' });
      expect(await store.exports.get(failed)).toMatchObject({ state: 'failed', error: 'source rejected the query' });
    }),
  );

  it(
    'exports: recordDownload counts each download on its export',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const id = await completeExport(store, clock, account);
      const other = await completeExport(store, clock, account);
      await store.exports.recordDownload({ exportId: id, at: clock.at(), bytes: 345, client: '203.0.113.7', range: null });
      await store.exports.recordDownload({ exportId: id, at: clock.at(SECOND), bytes: 100, client: '203.0.113.8', range: 'bytes=0-99' });
      expect(await store.exports.get(id)).toMatchObject({ downloads: 2, state: 'completed' });
      expect(await store.exports.get(other)).toMatchObject({ downloads: 0 });
    }),
  );

  it(
    'exports: listExpired gives completed exports expiring at or before a time, oldest expiry first; markExpired moves each once',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const late = await completeExport(store, clock, account, new Date(T0 + 3 * DAY));
      const early = await completeExport(store, clock, account, new Date(T0 + DAY));
      const middle = await completeExport(store, clock, account, new Date(T0 + 2 * DAY));
      const failed = await failExport(store, clock, account);
      const [queued] = await queueExports(store, clock, account, 1);

      const expiredBy = async (at: number, limit = 10) => (await store.exports.listExpired(new Date(at), limit)).map((j) => j.id);
      expect(await expiredBy(T0 + DAY - 1)).toEqual([]);
      expect(await expiredBy(T0 + 2 * DAY)).toEqual([early, middle]);
      expect(await expiredBy(T0 + 2 * DAY, 1)).toEqual([early]);
      expect((await store.exports.listExpired(new Date(T0 + DAY), 1))[0]).toEqual(await store.exports.get(early));

      expect(await store.exports.markExpired(early)).toBe(true);
      expect(await store.exports.markExpired(early)).toBe(false);
      expect(await store.exports.get(early)).toMatchObject({ state: 'expired' });
      expect(await store.exports.markExpired(failed)).toBe(false);
      expect(await store.exports.markExpired(queued!)).toBe(false);
      expect(await store.exports.markExpired('00000000-0000-4000-8000-000000000000')).toBe(false);
      expect(await expiredBy(T0 + 10 * DAY)).toEqual([middle, late]);
      expect(await store.exports.get(failed)).toMatchObject({ state: 'failed' });
      expect(await store.exports.get(queued!)).toMatchObject({ state: 'queued' });
    }),
  );

  it(
    "exports: list pages an account's exports newest first, filtered by state",
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const [e0, e1, e2, e3, e4] = await queueExports(store, clock, a, 5);
      const [b0] = await queueExports(store, clock, b, 1);
      // Oldest first, one per claim: e0 then e1.
      expect((await store.exports.claim('w1', claimOf(1)))[0]?.id).toBe(e0);
      expect(await store.exports.complete(e0!, 'w1', sampleResult(clock.at()))).toBe(true);
      expect((await store.exports.claim('w1', claimOf(1, { maxRunningPerAccount: 1 })))[0]?.id).toBe(e1);
      expect(await store.exports.fail(e1!, 'w1', 'bad query')).toBe(true);

      const page = async (accountId: number, query: Parameters<typeof store.exports.list>[1]) => (await store.exports.list(accountId, query)).map((j) => j.id);
      expect(await page(a, { limit: 10 })).toEqual([e4, e3, e2, e1, e0]);
      expect(await page(a, { limit: 2 })).toEqual([e4, e3]);
      expect(await page(a, { limit: 2, startingAfter: e3 })).toEqual([e2, e1]);
      expect(await page(a, { limit: 2, startingAfter: e1 })).toEqual([e0]);
      expect(await page(a, { limit: 2, startingAfter: e0 })).toEqual([]);
      expect(await page(a, { limit: 10, state: 'queued' })).toEqual([e4, e3, e2]);
      expect(await page(a, { limit: 1, state: 'queued', startingAfter: e4 })).toEqual([e3]);
      expect(await page(a, { limit: 10, state: 'completed' })).toEqual([e0]);
      expect(await page(a, { limit: 10, state: 'failed' })).toEqual([e1]);
      expect(await page(a, { limit: 10, state: 'running' })).toEqual([]);
      expect(await page(b, { limit: 10 })).toEqual([b0]);
      expect(await page(a + b + 1000, { limit: 10 })).toEqual([]);
      expect((await store.exports.list(a, { limit: 1, state: 'completed' }))[0]).toEqual(await store.exports.get(e0!));
    }),
  );

  it(
    'exports: countByState has every state, zero when none, for one account or all',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const none = { queued: 0, running: 0, completed: 0, failed: 0, expired: 0 };
      expect(await store.exports.countByState()).toEqual(none);
      const [a, b] = [await newAccount(store), await newAccount(store)];
      expect(await store.exports.countByState(a)).toEqual(none);
      await completeExport(store, clock, a);
      expect(await store.exports.markExpired(await completeExport(store, clock, a, clock.at()))).toBe(true);
      await failExport(store, clock, a);
      await startExport(store, clock, a, 'w1');
      await queueExports(store, clock, a, 1);
      await queueExports(store, clock, b, 2);
      expect(await store.exports.countByState(a)).toEqual({ queued: 1, running: 1, completed: 1, failed: 1, expired: 1 });
      expect(await store.exports.countByState(b)).toEqual({ ...none, queued: 2 });
      expect(await store.exports.countByState()).toEqual({ queued: 3, running: 1, completed: 1, failed: 1, expired: 1 });
    }),
  );
}
