import { afterEach, describe, expect, it } from 'vitest';
import type { NewDelivery, NewEndpoint, NewExportJob } from '@ferry/core';
import { SqliteJobStore } from './sqlite-job-store.js';
import { tempDatabase, TestClock } from './test-support/temp-db.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStore(): { store: SqliteJobStore; clock: TestClock } {
  const db = tempDatabase();
  const clock = new TestClock();
  const store = new SqliteJobStore({ file: db.file, now: clock.now });
  cleanups.push(db.remove, () => store.close());
  return { store, clock };
}

let seq = 0;
function exportJob(accountId: number, requestedAt: Date): NewExportJob {
  return {
    id: `exp_${++seq}`,
    accountId,
    name: 'n',
    format: 'csv',
    compression: 'none',
    webhookUrl: 'https://hooks.example.com/x',
    endpointId: 'ep_x',
    datasetKey: 'rentals',
    query: {},
    hmacSignature: 'a'.repeat(64),
    requestedAt,
    notifyOnFailure: false,
    split: null,
  };
}

function endpoint(accountId: number, id: string): NewEndpoint {
  return {
    id,
    accountId,
    url: `https://hooks.example.com/${id}`,
    scheme: 'ferry-hmac',
    secrets: [],
    events: null,
    description: null,
    registered: false,
    scheduleMs: null,
    createdAt: new Date(),
  };
}

function delivery(accountId: number, endpointId: string): NewDelivery {
  const id = `dlv_${++seq}`;
  return { id, accountId, endpointId, messageId: id, exportId: null, eventType: 'export.completed', body: '{}', headers: {}, createdAt: new Date() };
}

describe('SqliteJobStore export claims', () => {
  it("interleaves accounts by each one's running count plus rank, then age, and caps each account", async () => {
    const { store, clock } = openStore();
    const a = (await store.accounts.create({ name: 'a', createdAt: clock.at() })).id;
    const b = (await store.accounts.create({ name: 'b', createdAt: clock.at() })).id;
    const c = (await store.accounts.create({ name: 'c', createdAt: clock.at() })).id;
    const queue = async (account: number, n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const job = exportJob(account, clock.at());
        await store.exports.insert(job);
        out.push(job.id);
        clock.ms += 1000;
      }
      return out;
    };
    const [a1, a2, a3, a4] = await queue(a, 4);
    const [b1, b2] = await queue(b, 2);
    const [c1] = await queue(c, 1);
    // a already runs one: a2 ranks with b's and c's second exports, not with their first.
    expect((await store.exports.claim('w0', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 3 })).map((j) => j.id)).toEqual([a1]);
    const order = (await store.exports.claim('w1', { limit: 10, leaseMs: 60_000, maxRunningPerAccount: 3 })).map((j) => j.id);
    // Level 1: b1, c1 (by age). Level 2: a2 (a runs one) then b2 (younger). Level 3: a3. a4 is over the cap.
    expect(order).toEqual([b1, c1, a2, b2, a3]);
    expect(await store.exports.claim('w2', { limit: 10, leaseMs: 60_000, maxRunningPerAccount: 3 })).toEqual([]);
    expect((await store.exports.get(a4!))?.state).toBe('queued');
  });

  it('gives a dead worker\'s export to the next claimer and stops counting it as running', async () => {
    const { store, clock } = openStore();
    const a = (await store.accounts.create({ name: null, createdAt: clock.at() })).id;
    const first = exportJob(a, clock.at());
    const second = exportJob(a, clock.at(1));
    await store.exports.insert(first);
    await store.exports.insert(second);
    const cap1 = { limit: 5, leaseMs: 30_000, maxRunningPerAccount: 1 };
    expect((await store.exports.claim('dead', cap1)).map((j) => j.id)).toEqual([first.id]);
    clock.ms += 30_000;
    expect(await store.exports.claim('w', cap1)).toEqual([]);
    clock.ms += 1;
    const [again] = await store.exports.claim('w', cap1);
    expect(again).toMatchObject({ id: first.id, attempts: 2 });
    expect(await store.exports.heartbeat(first.id, 'dead', 30_000, { rows: 1, bytes: 1 })).toBe(false);
  });
});

describe('SqliteJobStore delivery claims', () => {
  it('leases earliest due first and skips endpoints at their in-flight cap, across claimers', async () => {
    const { store, clock } = openStore();
    const account = (await store.accounts.create({ name: null, createdAt: clock.at() })).id;
    await store.endpoints.insert(endpoint(account, 'ep_busy'));
    await store.endpoints.insert(endpoint(account, 'ep_quiet'));
    const busy: string[] = [];
    for (let i = 0; i < 5; i++) {
      const d = delivery(account, 'ep_busy');
      await store.deliveries.insert([d]);
      busy.push(d.id);
      clock.ms += 10;
    }
    const quiet = delivery(account, 'ep_quiet');
    await store.deliveries.insert([quiet]);
    const claim = { limit: 10, leaseMs: 60_000, maxInFlightPerEndpoint: 2 };
    const first = await store.deliveries.claim('w1', claim);
    expect(first.map((d) => d.id)).toEqual([busy[0], busy[1], quiet.id]);
    expect(first[0]).toMatchObject({ url: 'https://hooks.example.com/ep_busy', retryIndex: 0, endpoint: { id: 'ep_busy' } });
    // ep_busy has two leased by w1: another worker gets none of it.
    expect(await store.deliveries.claim('w2', claim)).toEqual([]);
    const settled = await store.deliveries.settle('w1', [
      { deliveryId: busy[0]!, attempt: { at: clock.at(), durationMs: 5, status: 200, error: null, responseBody: null }, next: { state: 'succeeded' } },
    ]);
    expect(settled).toEqual([{ deliveryId: busy[0], endpointId: 'ep_busy', accountId: account, endpointFailing: false }]);
    expect((await store.deliveries.claim('w2', claim)).map((d) => d.id)).toEqual([busy[2]]);
    // A lease that ran out frees its slot: the delivery is due again and the next in line follows it.
    clock.ms += 60_001;
    expect((await store.deliveries.claim('w3', claim)).map((d) => d.id).sort()).toEqual([busy[1], busy[2], quiet.id].sort());
  });

  it('settles only what the owner still holds, logs each attempt and restarts the schedule on redelivery', async () => {
    const { store, clock } = openStore();
    const account = (await store.accounts.create({ name: null, createdAt: clock.at() })).id;
    await store.endpoints.insert(endpoint(account, 'ep_1'));
    const d = delivery(account, 'ep_1');
    await store.deliveries.insert([d]);
    const claim = { limit: 1, leaseMs: 1000, maxInFlightPerEndpoint: 5 };
    await store.deliveries.claim('w1', claim);
    const failed = { at: clock.at(), durationMs: 7, status: 503, error: 'HTTP 503', responseBody: 'busy' };
    await store.deliveries.settle('w1', [{ deliveryId: d.id, attempt: failed, next: { state: 'pending', nextAttemptAt: clock.at(5000) } }]);
    expect(await store.deliveries.settle('w1', [{ deliveryId: d.id, attempt: failed, next: { state: 'failed' } }])).toEqual([]);
    clock.ms += 5000;
    const [retry] = await store.deliveries.claim('w2', claim);
    expect(retry).toMatchObject({ id: d.id, attempts: 1, retryIndex: 1, lastStatus: 503, lastError: 'HTTP 503' });
    await store.deliveries.settle('w2', [{ deliveryId: d.id, attempt: { ...failed, at: clock.at() }, next: { state: 'failed' } }]);
    expect(await store.deliveries.redeliver(d.id)).toBe(true);
    const [again] = await store.deliveries.claim('w3', claim);
    expect(again).toMatchObject({ attempts: 2, retryIndex: 0, state: 'pending' });
    const stored = await store.deliveries.get(d.id);
    expect(stored?.attemptLog.map((a) => a.status)).toEqual([503, 503]);
  });
});
