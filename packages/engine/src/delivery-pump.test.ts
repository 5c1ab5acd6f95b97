import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Account, JobStore } from '@ferry/core';
import { silentLogger } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { createWebhookNotifier, type WebhookNotifier } from '@ferry/notifier-webhook';
import { sampleDelivery } from '@ferry/testing/jobs';
import { DeliveryWorker } from './delivery-worker.js';
import { randomId } from './ids.js';
import { FirstCallHeld, withPart } from './test-support/job-store-parts.js';
import { recordingLogger } from './test-support/log-lines.js';

/*
 * How the delivery worker's pump uses the store, on a real SQLite store, the real notifier and a
 * real receiver on 127.0.0.1: claims do not wait for the previous batch's recording, unrecorded
 * attempts are bounded, and a store that fails a call is logged and outlived.
 */

let dir: string;
let store: JobStore;
let notifier: WebhookNotifier;
let account: Account;
let server: Server;
let base: string;
/** The webhook-id of every request that reached the receiver, in arrival order. */
let hits: string[];
/** Requests the receiver holds at once: now, and the most so far. */
let active: number;
let mostActive: number;
let worker: DeliveryWorker | undefined;
/** How long the receiver holds each request before it answers. */
let holdMs: number;
/** Requests to this path are held until `release` is called. */
let heldPath: string | undefined;
let release: () => void;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-delivery-pump-'));
  store = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  account = await store.accounts.create({ name: 'pump', createdAt: new Date() });
  notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], timeoutMs: 5_000 });
  hits = [];
  active = 0;
  mostActive = 0;
  holdMs = 0;
  heldPath = undefined;
  const released = new Promise<void>((r) => (release = r));
  server = createServer((req, res) => {
    mostActive = Math.max(mostActive, ++active);
    res.on('finish', () => active--);
    req.resume();
    req.on('end', () => {
      hits.push(String(req.headers['webhook-id']));
      if (req.url === heldPath) void released.then(() => res.writeHead(204).end());
      else setTimeout(() => res.writeHead(204).end(), holdMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await notifier.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * `count` deliveries queued, to `endpoints` endpoints in turn: by default each to an endpoint of its
 * own (so the per-endpoint cap never limits them).
 */
async function queue(count: number, endpoints = count): Promise<string[]> {
  const endpointIds = Array.from({ length: endpoints }, () => randomId('ep'));
  for (const [i, endpointId] of endpointIds.entries()) {
    await store.endpoints.insert({
      id: endpointId,
      accountId: account.id,
      url: `${base}/${i}`,
      scheme: 'standard-webhooks',
      secrets: [{ value: `whsec_${Buffer.from(`secret-${i}-0123456789abcdef`).toString('base64')}`, expiresAt: null }],
      events: ['*'],
      description: null,
      registered: true,
      scheduleMs: null,
      createdAt: new Date(),
    });
  }
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const delivery = sampleDelivery(account.id, endpointIds[i % endpoints]!, { headers: {} });
    await store.transaction((tx) => tx.deliveries.insert([delivery]));
    ids.push(delivery.messageId);
  }
  return ids;
}

/**
 * The store, with `deliveries.claim` and `deliveries.settle` passing through `around` first (and a
 * claim's answer through `claimed` on its way back). A batch of successes to healthy endpoints (all
 * these tests send) is recorded by `settle` alone.
 */
function intercepted(around: { claim?: () => Promise<void>; claimed?: () => Promise<void>; settle?: () => Promise<void> }): JobStore {
  // The store's parts are frozen objects of bound functions: a copy with two functions replaced.
  const deliveries: JobStore['deliveries'] = {
    ...store.deliveries,
    claim: async (...args) => {
      await around.claim?.();
      const due = await store.deliveries.claim(...args);
      await around.claimed?.();
      return due;
    },
    settle: async (...args) => {
      await around.settle?.();
      return store.deliveries.settle(...args);
    },
  };
  return withPart(store, 'deliveries', deliveries);
}

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the delivery pump', () => {
  it('claims and sends the next deliveries while the previous batch is still being recorded', async () => {
    const sent = await queue(6);
    // The first recording is held until the test opens it; later ones pass.
    const recording = new FirstCallHeld();
    const jobs = intercepted({ settle: recording.hook });
    worker = new DeliveryWorker({ jobs, notifier, logger: silentLogger }, { concurrency: 2, pollMs: 20 });
    worker.start();
    await until('four deliveries to arrive while the first recording is held', () => hits.length >= 4);
    expect((await store.deliveries.countByState(account.id)).succeeded).toBe(0);
    recording.open();
    await until('every delivery recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 6);
    expect([...hits].sort()).toEqual([...sent].sort());
  });

  it("sends an endpoint's next deliveries while its previous ones are still being recorded, never more at once than its cap", async () => {
    const sent = await queue(6, 1);
    // Held a little, so that requests sent together are at the receiver together.
    holdMs = 20;
    const recording = new FirstCallHeld();
    const jobs = intercepted({ settle: recording.hook });
    worker = new DeliveryWorker({ jobs, notifier, logger: silentLogger }, { concurrency: 4, maxInFlightPerEndpoint: 2, pollMs: 20 });
    worker.start();
    try {
      // The first two are answered and their record held: their leases stand, their receiver is free.
      await until('four deliveries to arrive while the first recording is held', () => hits.length >= 4);
      expect((await store.deliveries.countByState(account.id)).succeeded).toBe(0);
    } finally {
      recording.open();
    }
    await until('every delivery recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 6);
    expect([...hits].sort()).toEqual([...sent].sort());
    // The worker had room for 4: the cap held it to 2.
    expect(mostActive).toBeLessThanOrEqual(2);
  });

  it('sends a delivery queued while a claim that found nothing was returning at once, not at the next poll', async () => {
    // The first claim has read the (empty) outbox and is held on its way back.
    const claim = new FirstCallHeld();
    const jobs = intercepted({ claimed: claim.hook });
    worker = new DeliveryWorker({ jobs, notifier, logger: silentLogger }, { pollMs: 60_000 });
    worker.start();
    await until('the first claim', () => claim.calls === 1);
    // Queued meanwhile: the store's commit pokes the worker while its claim is still out.
    const [sent] = await queue(1);
    claim.open();
    await until('the delivery to arrive well before the next poll', () => hits.length === 1, 5_000);
    expect(hits).toEqual([sent]);
  });

  it('stops claiming once attempts pile up unrecorded, and sends the rest once recording resumes', async () => {
    const sent = await queue(12);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const jobs = intercepted({ settle: () => gate });
    worker = new DeliveryWorker({ jobs, notifier, logger: silentLogger }, { concurrency: 2, pollMs: 20 });
    worker.start();
    await until('the first deliveries', () => hits.length >= 2);
    // Give the pump time to claim everything it would; it must stop well short of the queue.
    await new Promise((r) => setTimeout(r, 300));
    // The held recording's batch (at most `concurrency`: 2), then claims until the unrecorded
    // attempts reach `concurrency` + one batch of up to `concurrency` (2 + 2): 6 of the 12 at most.
    expect(hits.length).toBeLessThanOrEqual(6);
    open();
    await until('every delivery recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 12);
    expect([...hits].sort()).toEqual([...sent].sort());
  });

  it('keeps claiming for its free slots while a slow receiver holds one: batches gather, they never wait for the slowest', async () => {
    const sent = await queue(21);
    heldPath = '/0';
    worker = new DeliveryWorker({ jobs: store, notifier, logger: silentLogger }, { concurrency: 4, pollMs: 60_000 });
    worker.start();
    // The first delivery (due first) is held by its receiver; the other 20 go through the 3 slots
    // left, claimed as they free up, not once the held one has answered.
    await until('the 20 other deliveries', () => hits.length === 21);
    expect(hits[0]).toBe(sent[0]);
    await until('the 20 recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 20);
    release();
    await until('the held one recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 21);
  });

  it('logs a claim that fails and goes on delivering', async () => {
    const sent = await queue(3);
    const errors: string[] = [];
    const logger = recordingLogger((line) => void (line.level === 'error' && errors.push(String(line.msg))));
    let claims = 0;
    const jobs = intercepted({
      claim: async () => {
        if (claims++ === 0) throw new Error('connection reset');
      },
    });
    worker = new DeliveryWorker({ jobs, notifier, logger }, { concurrency: 4, pollMs: 20 });
    worker.start();
    await until('every delivery recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 3);
    expect(errors).toEqual(['delivery worker could not claim deliveries']);
    expect([...hits].sort()).toEqual([...sent].sort());
  });

  it('logs a recording that fails; its deliveries are sent again under the same webhook-id once their lease ends', async () => {
    const [sent] = await queue(1);
    const errors: string[] = [];
    const logger = recordingLogger((line) => void (line.level === 'error' && errors.push(String(line.msg))));
    let recordings = 0;
    const jobs = intercepted({
      settle: async () => {
        if (recordings++ === 0) throw new Error('disk full');
      },
    });
    // The lease is the attempt timeout plus 5 s: the retry comes after that.
    worker = new DeliveryWorker({ jobs, notifier, logger }, { concurrency: 1, pollMs: 50, timeoutMs: 100 });
    worker.start();
    await until('the delivery recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 1, 15_000);
    expect(errors).toEqual(['delivery worker could not record attempts']);
    expect(hits).toEqual([sent, sent]);
    const [delivery] = await store.deliveries.list(account.id, { limit: 10 });
    // Only the recorded attempt is in the log: the unrecorded one left no trace but the resend.
    expect((await store.deliveries.get(delivery!.id))!.attemptLog).toHaveLength(1);
  }, 20_000);

  it('leases a delivery for longer than its attempt can take: a second worker never sends it again while a slow receiver holds it', async () => {
    const [sent] = await queue(1);
    holdMs = 1_500;
    const second = new DeliveryWorker({ jobs: store, notifier, logger: silentLogger }, { pollMs: 20, timeoutMs: 3_000 });
    worker = new DeliveryWorker({ jobs: store, notifier, logger: silentLogger }, { pollMs: 20, timeoutMs: 3_000 });
    worker.start();
    await until('the first request', () => hits.length === 1);
    second.start();
    try {
      await until('the delivery recorded', async () => (await store.deliveries.countByState(account.id)).succeeded === 1);
    } finally {
      await second.stop();
    }
    expect(hits).toEqual([sent]);
    expect(worker.counters.succeeded + second.counters.succeeded).toBe(1);
  });
});
