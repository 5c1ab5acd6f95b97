import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NewDelivery, NewExportJob } from '@ferry/core';
import { describePostgres, requirePostgres } from '@ferry/testing';
import { sampleExport } from '@ferry/testing/jobs';
import type { PostgresJobStore, PostgresJobStoreOptions } from './postgres-job-store.js';
import { StoreFixture } from './test-support.js';

const service = await requirePostgres();

/**
 * Claims read only the head of each account's (endpoint's) queue. These cases run long, uneven
 * queues through claims with many limits and caps, dead leases, retries and deletions, and check
 * every claim against the whole queue ranked at once (the statement the claims replaced), run on
 * the same rows at the same instant.
 */

const T0 = Date.UTC(2026, 0, 5, 12);
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
const WHOLE_QUEUE_EXPORTS = (schema: string) => `
  WITH running AS (
    SELECT account_id, count(*) AS n FROM "${schema}".exports WHERE state = 'running' AND lease_until > $1 GROUP BY account_id
  ), due AS (
    SELECT e.id, e.account_id, e.requested_at, e.seq,
           row_number() OVER (PARTITION BY e.account_id ORDER BY e.requested_at, e.seq) AS rank
    FROM "${schema}".exports e
    WHERE (e.state = 'queued' AND e.run_after <= $1) OR (e.state = 'running' AND e.lease_until <= $1)
  )
  SELECT d.id FROM due d LEFT JOIN running r ON r.account_id = d.account_id
  WHERE coalesce(r.n, 0) + d.rank <= $2
  ORDER BY coalesce(r.n, 0) + d.rank, d.requested_at, d.seq
  LIMIT $3`;

/** Every due delivery of every existing endpoint under its in-flight cap, earliest first. */
const WHOLE_QUEUE_DELIVERIES = (schema: string) => `
  WITH in_flight AS (
    SELECT endpoint_id, count(*) AS n FROM "${schema}".deliveries WHERE state = 'pending' AND lease_until > $1 GROUP BY endpoint_id
  ), due AS (
    SELECT d.id, d.endpoint_id, d.next_attempt_at, d.seq,
           row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.seq) AS rank
    FROM "${schema}".deliveries d JOIN "${schema}".endpoints ep ON ep.id = d.endpoint_id
    WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
  )
  SELECT due.id FROM due LEFT JOIN in_flight f ON f.endpoint_id = due.endpoint_id
  WHERE coalesce(f.n, 0) + due.rank <= $2
  ORDER BY due.next_attempt_at, due.seq
  LIMIT $3`;

describePostgres('postgres job store: claims on long queues', service, (server) => {
  const fixture = new StoreFixture(server);
  let observer: pg.Client;

  beforeAll(async () => {
    observer = new pg.Client({ connectionString: server.url });
    await observer.connect();
  });

  afterAll(async () => {
    await fixture.cleanup();
    await observer?.end();
  });

  async function clocked(options: Partial<PostgresJobStoreOptions> = {}): Promise<{ store: PostgresJobStore; schema: string; clock: { t: number } }> {
    const clock = { t: T0 };
    const schema = fixture.location();
    const store = await fixture.open(schema, { listen: false, now: () => clock.t, ...options });
    return { store, schema, clock };
  }

  it('exports: a claim of several hands them over in claim order, not in the order the UPDATE returns them', async () => {
    // Left to itself the planner drives the claim's UPDATE from the ranked rows (a nested loop), and
    // RETURNING comes back in claim order anyway. With nested loop and merge joins off it hashes the
    // ranked rows and scans the table: RETURNING comes back in table order, which runs against the
    // claim order here.
    const { store, schema } = await clocked({
      connectionString: `${server.url}?options=${encodeURIComponent('-c enable_nestloop=off -c enable_mergejoin=off')}`,
    });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async (name) => (await store.accounts.create({ name, createdAt: new Date(T0) })).id));
    // Named account + rank, requested so many seconds before now; inserted in this order (seq).
    const queue: Array<[string, number, number]> = [
      ['a3', a!, 10],
      ['b2', b!, 20],
      ['a2', a!, 20],
      ['c1', c!, 40],
      ['b1', b!, 30],
      ['a1', a!, 50],
      ['c0', c!, 60],
    ];
    for (const [name, accountId, ago] of queue) {
      await store.exports.insert(sampleExport(accountId, { id: `${schema}_${name}`, name, requestedAt: new Date(T0 - ago * 1000) }));
    }
    // A new row version puts b2 at the end of the table; it keeps its seq, ahead of a2's.
    await observer.query(`UPDATE "${schema}".exports SET updated_at = updated_at WHERE name = 'b2'`);
    const claim = async (limit: number): Promise<string[]> =>
      (await store.exports.claim('w', { limit, leaseMs: 60_000, maxRunningPerAccount: NO_CAP })).map((j) => j.name);
    // Every account's first export ranks 1: the oldest of them goes first.
    expect(await claim(1)).toEqual(['c0']);
    // Rank 1 by age (a1, b1); then rank 2: c1 (c's first is running), then b2 and a2, requested at
    // the same instant, by seq; then rank 3.
    expect(await claim(10)).toEqual(['a1', 'b1', 'c1', 'b2', 'a2', 'a3']);
  });

  it('exports: every claim takes what ranking the whole queue would, in that order', async () => {
    const { store, schema, clock } = await clocked();
    const r = random(10);
    const accounts: number[] = [];
    for (let i = 0; i < 4; i++) accounts.push((await store.accounts.create({ name: `tenant ${i}`, createdAt: new Date(T0) })).id);
    const insert = async (count: number): Promise<void> => {
      await store.transaction(async (tx) => {
        for (let i = 0; i < count; i++) {
          // Most go to one account, so it still has a long queue when the others run dry; request
          // times repeat and run against insertion order.
          const account = r(4) > 0 ? accounts[0]! : accounts[1 + r(accounts.length - 1)]!;
          const job: NewExportJob = {
            id: randomUUID(),
            accountId: account,
            name: 'deep',
            format: 'csv',
            compression: 'gzip',
            webhookUrl: 'https://hooks.example.com/ferry',
            endpointId: 'ep_x',
            datasetKey: 'rentals',
            query: {},
            hmacSignature: 'a'.repeat(64),
            requestedAt: new Date(clock.t - r(200) * 1000),
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
        const expected = await observer.query(WHOLE_QUEUE_EXPORTS(schema), [new Date(clock.t), cap, limit]);
        const owner = `w${step}`;
        const got = await store.exports.claim(owner, { limit, leaseMs: 1000 + r(30) * 1000, maxRunningPerAccount: cap });
        expect(got.map((j) => j.id), `step ${step}`).toEqual(expected.rows.map((row) => row.id));
        running.push(...got.map((j) => ({ id: j.id, owner })));
        claims++;
        claimed += got.length;
      } else if (action < 7 && running.length > 0) {
        const [job] = running.splice(r(running.length), 1);
        await store.exports.retryLater(job!.id, job!.owner, 'source down', new Date(clock.t + r(20) * 1000));
      } else if (action < 8 && running.length > 0) {
        for (const job of running.splice(0, r(running.length + 1))) await store.exports.fail(job.id, job.owner, 'bad query');
      } else if (action < 9) {
        clock.t += r(15) * 1000;
      } else {
        await insert(r(40));
      }
    }
    // The run exercised the claims it is about: many of them, most taking something.
    expect(claims).toBeGreaterThan(50);
    expect(claimed).toBeGreaterThan(150);
  });

  it('deliveries: every claim takes what ranking the whole outbox would, in that order', async () => {
    const { store, schema, clock } = await clocked();
    const r = random(20);
    const account = (await store.accounts.create({ name: null, createdAt: new Date(T0) })).id;
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
        createdAt: new Date(T0),
      });
      endpoints.push(id);
    }
    let n = 0;
    const insert = async (count: number): Promise<void> => {
      const batch: NewDelivery[] = Array.from({ length: count }, () => {
        const id = `msg_${n++}`;
        const endpointId = r(2) === 0 ? endpoints[0]! : endpoints[1 + r(endpoints.length - 1)]!;
        return { id, accountId: account, endpointId, messageId: id, exportId: null, eventType: 'export.completed', body: '{}', headers: {}, createdAt: new Date(clock.t) };
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
        const expected = await observer.query(WHOLE_QUEUE_DELIVERIES(schema), [new Date(clock.t), cap, limit]);
        const owner = `w${step}`;
        const got = await store.deliveries.claim(owner, { limit, leaseMs: 1000 + r(30) * 1000, maxInFlightPerEndpoint: cap });
        expect(got.map((d) => d.id), `step ${step}`).toEqual(expected.rows.map((row) => row.id));
        leased.push(...got.map((d) => ({ id: d.id, owner })));
        claims++;
        claimed += got.length;
      } else if (action < 9 && leased.length > 0) {
        const settle = leased.splice(0, 1 + r(Math.min(leased.length, 6)));
        const outcome = r(3);
        const next =
          outcome === 0
            ? ({ state: 'succeeded' } as const)
            : outcome === 1
              ? ({ state: 'pending', nextAttemptAt: new Date(clock.t + r(20) * 1000) } as const)
              : ({ state: 'failed' } as const);
        await store.transaction(async (tx) => {
          for (const d of settle) {
            const attempt = { at: new Date(clock.t), durationMs: 3, status: 500, error: 'HTTP 500', responseBody: null };
            await tx.deliveries.settle(d.owner, [{ deliveryId: d.id, attempt, next }]);
          }
        });
      } else if (action < 10) {
        clock.t += r(15) * 1000;
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
