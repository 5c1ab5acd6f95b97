import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewDelivery, NewExportJob } from '@ferry/core';
import { SqliteJobStore } from './sqlite-job-store.js';
import { tempDatabase, TestClock } from './test-support/temp-db.js';

/**
 * Claims read only the head of each account's (endpoint's) queue. These cases run long, uneven
 * queues through claims with many limits and caps, dead leases, retries and deletions, and check
 * every claim against the whole queue ranked at once (what the claims read before), on the same
 * rows at the same instant.
 */

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NO_CAP = 2 ** 31 - 1;

/** A small deterministic generator: a failing run replays the same steps. */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Every due export of every account ranked fairly, as `exports.claim` must order them. */
const WHOLE_QUEUE_EXPORTS = `
  WITH live AS (
    SELECT account_id, count(*) AS running FROM exports WHERE state = 'running' AND lease_until >= :now GROUP BY account_id
  ), due AS (
    SELECT id, account_id, requested_at, row_number() OVER (PARTITION BY account_id ORDER BY requested_at, id) AS rank
    FROM exports
    WHERE (state = 'queued' AND run_after <= :now) OR (state = 'running' AND lease_until < :now)
  )
  SELECT due.id FROM due LEFT JOIN live USING (account_id)
  WHERE coalesce(live.running, 0) + due.rank <= :cap
  ORDER BY coalesce(live.running, 0) + due.rank, due.requested_at, due.id
  LIMIT :limit`;

/** Every due delivery of every existing endpoint, earliest first, and the live leases per endpoint. */
const WHOLE_OUTBOX = `
  SELECT d.id, d.endpoint_id FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
  WHERE d.state = 'pending' AND d.next_attempt_at <= :now AND (d.lease_until IS NULL OR d.lease_until < :now)
  ORDER BY d.next_attempt_at, d.seq`;
const LIVE_LEASES = `SELECT endpoint_id, count(*) AS n FROM deliveries WHERE lease_until >= ? GROUP BY endpoint_id`;

function open(): { store: SqliteJobStore; clock: TestClock; observer: Database.Database } {
  const db = tempDatabase();
  const clock = new TestClock();
  const store = new SqliteJobStore({ file: db.file, now: clock.now });
  const observer = new Database(db.file, { readonly: true });
  cleanups.push(db.remove, () => store.close(), () => {
    observer.close();
  });
  return { store, clock, observer };
}

describe('SqliteJobStore claims on long queues', () => {
  it('exports: every claim takes what ranking the whole queue would, in that order', async () => {
    const { store, clock, observer } = open();
    const r = random(10);
    const accounts: number[] = [];
    for (let i = 0; i < 4; i++) accounts.push((await store.accounts.create({ name: `tenant ${i}`, createdAt: clock.at() })).id);
    let n = 0;
    const insert = async (count: number): Promise<void> => {
      await store.transaction(async (tx) => {
        for (let i = 0; i < count; i++) {
          // Most go to one account, so it still has a long queue when the others run dry; request
          // times repeat and run against insertion (and id) order.
          const account = r(4) > 0 ? accounts[0]! : accounts[1 + r(accounts.length - 1)]!;
          const job: NewExportJob = {
            id: `exp_${String(n++).padStart(5, '0')}`,
            accountId: account,
            name: 'deep',
            format: 'csv',
            compression: 'gzip',
            webhookUrl: 'https://hooks.example.com/ferry',
            endpointId: 'ep_x',
            datasetKey: 'rentals',
            query: {},
            hmacSignature: 'a'.repeat(64),
            requestedAt: clock.at(-r(200) * 1000),
            notifyOnFailure: false,
            split: null,
          };
          await tx.exports.insert(job);
        }
      });
    };
    await insert(400);
    const running: Array<{ id: string; owner: string }> = [];
    let claims = 0;
    let claimed = 0;
    for (let step = 0; step < 150; step++) {
      const action = r(10);
      if (action < 5) {
        const limit = 1 + r(20);
        const cap = [1, 2, 3, 5, NO_CAP][r(5)]!;
        const expected = observer.prepare(WHOLE_QUEUE_EXPORTS).pluck().all({ now: clock.ms, cap, limit });
        const owner = `w${step}`;
        const got = await store.exports.claim(owner, { limit, leaseMs: 1000 + r(30) * 1000, maxRunningPerAccount: cap });
        expect(
          got.map((j) => j.id),
          `step ${step}`,
        ).toEqual(expected);
        running.push(...got.map((j) => ({ id: j.id, owner })));
        claims++;
        claimed += got.length;
      } else if (action < 7 && running.length > 0) {
        const [job] = running.splice(r(running.length), 1);
        await store.exports.retryLater(job!.id, job!.owner, 'source down', clock.at(r(20) * 1000));
      } else if (action < 8 && running.length > 0) {
        for (const job of running.splice(0, r(running.length + 1))) await store.exports.fail(job.id, job.owner, 'bad query');
      } else if (action < 9) {
        clock.ms += r(15) * 1000;
      } else {
        await insert(r(40));
      }
    }
    // The run exercised the claims it is about: many of them, most taking something.
    expect(claims).toBeGreaterThan(50);
    expect(claimed).toBeGreaterThan(150);
  });

  it('deliveries: every claim takes what walking the whole outbox would, in that order', async () => {
    const { store, clock, observer } = open();
    const r = random(20);
    const account = (await store.accounts.create({ name: null, createdAt: clock.at() })).id;
    const endpoints: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = `ep_${i}`;
      await store.endpoints.insert({
        id,
        accountId: account,
        url: `https://hooks.example.com/${i}`,
        scheme: 'standard-webhooks',
        secrets: [],
        events: ['*'],
        description: null,
        registered: true,
        scheduleMs: null,
        createdAt: clock.at(),
      });
      endpoints.push(id);
    }
    /** Due order, skipping endpoints at their cap: what the claim did over the whole outbox. */
    const expectedClaim = (limit: number, cap: number): string[] => {
      const live = new Map((observer.prepare(LIVE_LEASES).all(clock.ms) as Array<{ endpoint_id: string; n: number }>).map((x) => [x.endpoint_id, x.n]));
      const picked: string[] = [];
      for (const row of observer.prepare(WHOLE_OUTBOX).all({ now: clock.ms }) as Array<{ id: string; endpoint_id: string }>) {
        const leased = live.get(row.endpoint_id) ?? 0;
        if (leased >= cap) continue;
        live.set(row.endpoint_id, leased + 1);
        picked.push(row.id);
        if (picked.length === limit) break;
      }
      return picked;
    };
    let n = 0;
    const insert = async (count: number): Promise<void> => {
      const batch: NewDelivery[] = Array.from({ length: count }, () => {
        const id = `msg_${n++}`;
        const endpointId = r(2) === 0 ? endpoints[0]! : endpoints[1 + r(endpoints.length - 1)]!;
        return { id, accountId: account, endpointId, messageId: id, exportId: null, eventType: 'export.completed', body: '{}', headers: {}, createdAt: clock.at() };
      });
      await store.deliveries.insert(batch);
    };
    await insert(300);
    const leased: Array<{ id: string; owner: string }> = [];
    let claims = 0;
    let claimed = 0;
    for (let step = 0; step < 150; step++) {
      const action = r(12);
      if (action < 6) {
        const limit = 1 + r(12);
        const cap = [1, 2, 4, 8, 100][r(5)]!;
        const expected = expectedClaim(limit, cap);
        const owner = `w${step}`;
        const got = await store.deliveries.claim(owner, { limit, leaseMs: 1000 + r(30) * 1000, maxInFlightPerEndpoint: cap });
        expect(
          got.map((d) => d.id),
          `step ${step}`,
        ).toEqual(expected);
        leased.push(...got.map((d) => ({ id: d.id, owner })));
        claims++;
        claimed += got.length;
      } else if (action < 9 && leased.length > 0) {
        const outcome = r(3);
        const next =
          outcome === 0
            ? ({ state: 'succeeded' } as const)
            : outcome === 1
              ? ({ state: 'pending', nextAttemptAt: clock.at(r(20) * 1000) } as const)
              : ({ state: 'failed' } as const);
        await store.transaction(async (tx) => {
          for (const d of leased.splice(0, 1 + r(Math.min(leased.length, 6)))) {
            const attempt = { at: clock.at(), durationMs: 3, status: 500, error: 'HTTP 500', responseBody: null };
            await tx.deliveries.settle(d.owner, [{ deliveryId: d.id, attempt, next }]);
          }
        });
      } else if (action < 10) {
        clock.ms += r(15) * 1000;
      } else if (action < 11 && step > 75 && endpoints.length > 4) {
        // A deleted endpoint's pending deliveries stay in the log and are never claimed.
        await store.endpoints.delete(endpoints.pop()!);
      } else {
        await insert(r(40));
      }
    }
    expect(claims).toBeGreaterThan(50);
    expect(claimed).toBeGreaterThan(150);
  });
});
