import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NewDelivery, NewExportJob } from '@ferry/core';
import { describePostgres, requirePostgres } from '@ferry/testing';
import type { PostgresJobStore } from './postgres-job-store.js';
import { StoreFixture } from './test-support.js';

const service = await requirePostgres();

const CLAIMERS = 8;
const JOBS = 2000;
const ACCOUNTS = 20;
const ENDPOINTS = 10;
const CAP = 3;

describePostgres('postgres job store: 8 claimers, each with its own pool', service, (server) => {
  const fixture = new StoreFixture(server);
  let observer: pg.Pool;

  beforeAll(async () => {
    observer = new pg.Pool({ connectionString: server.url, max: 2 });
  });

  afterAll(async () => {
    await fixture.cleanup();
    await observer?.end();
  });

  /** The same schema opened CLAIMERS times: separate pools, as separate worker processes would have. */
  async function claimers(schema: string): Promise<PostgresJobStore[]> {
    return Promise.all(Array.from({ length: CLAIMERS }, () => fixture.open(schema, { listen: false, poolSize: 2 })));
  }

  it(`claim ${JOBS} exports across ${ACCOUNTS} accounts: no export twice, none missed, no account over its cap`, async () => {
    const schema = fixture.location();
    const setup = await fixture.open(schema, { listen: false });
    const accounts: number[] = [];
    for (let i = 0; i < ACCOUNTS; i++) accounts.push((await setup.accounts.create({ name: `tenant ${i}`, createdAt: new Date() })).id);
    const start = Date.now() - 60_000;
    await setup.transaction(async (tx) => {
      for (let i = 0; i < JOBS; i++) {
        const job: NewExportJob = {
          id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          accountId: accounts[i % ACCOUNTS]!,
          name: `export ${i}`,
          format: 'csv',
          compression: 'gzip',
          webhookUrl: 'https://hooks.example.com/ferry',
          endpointId: 'ep_x',
          datasetKey: 'rentals',
          query: { i },
          hmacSignature: 'a'.repeat(64),
          requestedAt: new Date(start + i),
          notifyOnFailure: false,
          split: null,
        };
        await tx.exports.insert(job);
      }
    });
    const workers = await claimers(schema);
    const runningPerAccount = async (): Promise<number> => {
      const r = await observer.query(`SELECT coalesce(max(n), 0) AS n FROM (SELECT count(*) AS n FROM "${schema}".exports WHERE state = 'running' GROUP BY account_id) c`);
      return Number(r.rows[0].n);
    };

    const claimedBy = await Promise.all(
      workers.map(async (store, w) => {
        const owner = `worker-${w}`;
        const mine: string[] = [];
        const completions: boolean[] = [];
        let busiest = 0;
        for (;;) {
          const batch = await store.exports.claim(owner, { limit: 10, leaseMs: 10 * 60_000, maxRunningPerAccount: CAP });
          if (batch.length === 0) {
            if ((await store.exports.countByState()).queued === 0) break;
            continue;
          }
          busiest = Math.max(busiest, await runningPerAccount());
          for (const job of batch) {
            mine.push(job.id);
            completions.push(
              await store.exports.complete(job.id, owner, {
                files: [],
                manifest: null,
                numberRows: 0,
                bytes: 0,
                timeTakenMs: 1,
                finishedAt: new Date(),
                expiresAt: new Date(Date.now() + 86_400_000),
                pushdown: false,
              }),
            );
          }
        }
        return { mine, completions, busiest };
      }),
    );

    const all = claimedBy.flatMap((c) => c.mine);
    expect(all).toHaveLength(JOBS);
    expect(new Set(all).size).toBe(JOBS);
    expect(claimedBy.flatMap((c) => c.completions).every(Boolean)).toBe(true);
    expect(Math.max(...claimedBy.map((c) => c.busiest))).toBeLessThanOrEqual(CAP);
    // More than one worker did the work (the claims really ran side by side).
    expect(claimedBy.filter((c) => c.mine.length > 0).length).toBeGreaterThan(1);
    expect(await setup.exports.countByState()).toEqual({ queued: 0, running: 0, completed: JOBS, failed: 0, expired: 0 });
    const attempts = await observer.query(`SELECT count(*) AS n FROM "${schema}".exports WHERE attempts <> 1`);
    expect(Number(attempts.rows[0].n)).toBe(0);
  });

  it(`claim and settle ${JOBS} deliveries to ${ENDPOINTS} endpoints: each sent once, no endpoint over its in-flight cap`, async () => {
    const schema = fixture.location();
    const setup = await fixture.open(schema, { listen: false });
    const account = (await setup.accounts.create({ name: null, createdAt: new Date() })).id;
    const endpoints: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      const id = `ep_${i}`;
      await setup.endpoints.insert({
        id,
        accountId: account,
        url: `https://hooks.example.com/${i}`,
        scheme: 'standard-webhooks',
        secrets: [],
        events: ['*'],
        description: null,
        registered: true,
        scheduleMs: null,
        createdAt: new Date(),
      });
      endpoints.push(id);
    }
    const deliveries: NewDelivery[] = Array.from({ length: JOBS }, (_, i) => ({
      id: `msg_${i}`,
      accountId: account,
      endpointId: endpoints[i % ENDPOINTS]!,
      messageId: `msg_${i}`,
      exportId: null,
      eventType: 'export.completed',
      body: `{"n":${i}}`,
      headers: {},
      createdAt: new Date(),
    }));
    for (let i = 0; i < JOBS; i += 500) await setup.deliveries.insert(deliveries.slice(i, i + 500));
    const workers = await claimers(schema);
    const inFlightPerEndpoint = async (): Promise<number> => {
      const r = await observer.query(
        `SELECT coalesce(max(n), 0) AS n FROM (SELECT count(*) AS n FROM "${schema}".deliveries WHERE state = 'pending' AND lease_until > now() GROUP BY endpoint_id) c`,
      );
      return Number(r.rows[0].n);
    };

    const results = await Promise.all(
      workers.map(async (store, w) => {
        const owner = `sender-${w}`;
        const sent: string[] = [];
        let busiest = 0;
        let batch = await store.deliveries.claim(owner, { limit: 10, leaseMs: 10 * 60_000, maxInFlightPerEndpoint: CAP });
        for (;;) {
          if (batch.length === 0) {
            if ((await store.deliveries.countByState()).pending === 0) break;
            batch = await store.deliveries.claim(owner, { limit: 10, leaseMs: 10 * 60_000, maxInFlightPerEndpoint: CAP });
            continue;
          }
          busiest = Math.max(busiest, await inFlightPerEndpoint());
          sent.push(...batch.map((d) => d.id));
          const done = batch;
          // Settle what was sent and claim the next batch in one transaction: a claim sees its own settlement.
          const { settled, next } = await store.transaction(async (tx) => ({
            settled: await tx.deliveries.settle(
              owner,
              done.map((d) => ({
                deliveryId: d.id,
                attempt: { at: new Date(), durationMs: 1, status: 204, error: null, responseBody: null },
                next: { state: 'succeeded' as const },
              })),
            ),
            next: await tx.deliveries.claim(owner, { limit: 10, leaseMs: 10 * 60_000, maxInFlightPerEndpoint: CAP }),
          }));
          expect(settled).toHaveLength(done.length);
          batch = next;
        }
        return { sent, busiest };
      }),
    );

    const all = results.flatMap((r) => r.sent);
    expect(all).toHaveLength(JOBS);
    expect(new Set(all).size).toBe(JOBS);
    expect(Math.max(...results.map((r) => r.busiest))).toBeLessThanOrEqual(CAP);
    expect(results.filter((r) => r.sent.length > 0).length).toBeGreaterThan(1);
    expect(await setup.deliveries.countByState()).toEqual({ pending: 0, succeeded: JOBS, failed: 0 });
    const log = await observer.query(`SELECT count(*) AS n, count(DISTINCT delivery_id) AS d, max(n) AS top FROM "${schema}".delivery_attempts`);
    expect(log.rows[0]).toMatchObject({ n: String(JOBS), d: String(JOBS), top: 1 });
  });
});
