import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { silentLogger, type Account, type JobStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { createWebhookNotifier, type WebhookNotifier } from '@ferry/notifier-webhook';
import { sampleDelivery } from '@ferry/testing/jobs';
import { DeliveryWorker } from './delivery-worker.js';
import { WebhookService } from './webhook-service.js';
import { recordEvents } from './outbox.js';
import { randomId } from './ids.js';

/*
 * The delivery promises of docs/webhooks.md that are about time (the 24-hour rotation grace, the
 * 5-day disable, retry schedules), checked against a real SQLite job store, the real webhook
 * notifier and a real receiver on 127.0.0.1, with the engine's clock injected. The store decides
 * what is due by its own clock, so the injected times lie in the past: whatever the engine
 * schedules from them is due at once.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let dir: string;
let jobs: JobStore;
let notifier: WebhookNotifier;
let account: Account;
let server: Server;
let base: string;
let hits: Hit[];
/** Paths that answer 500; every other path answers 204, unless `replies` scripts it. */
let failing: Set<string>;
let replies: Map<string, { status: number; headers: Record<string, string> }>;
let clock: Date;
const now = () => clock;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-delivery-clock-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  account = await jobs.accounts.create({ name: 'clock', createdAt: new Date() });
  notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], timeoutMs: 5_000 });
  hits = [];
  failing = new Set();
  replies = new Map();
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({ path, headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      const scripted = replies.get(path);
      if (scripted) res.writeHead(scripted.status, scripted.headers).end();
      else res.writeHead(failing.has(path) ? 500 : 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await notifier.close();
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

/** The worker as Ferry builds it (default options), on the injected clock. */
function worker(): DeliveryWorker {
  return new DeliveryWorker({ jobs, notifier, logger: silentLogger, now });
}

function webhooks(): WebhookService {
  return new WebhookService({ jobs, notifier, now });
}

async function registered(path: string, body: Record<string, unknown> = {}) {
  return webhooks().createEndpoint(account, { url: `${base}${path}`, events: ['export.completed'], ...body });
}

/** An event, fanned out to the endpoints subscribed to it. */
async function emit(type = 'export.completed'): Promise<string> {
  const id = randomId('evt');
  const body = JSON.stringify({ type, id, created: 1_700_000_000, data: { object: { uuid: id } } });
  await jobs.transaction((tx) => recordEvents(tx, [{ id, accountId: account.id, type, created: new Date(), exportId: null, body }]));
  return id;
}

/** Run the worker once at `at`; returns the requests that reached the receiver meanwhile. */
async function deliverAt(at: Date): Promise<Hit[]> {
  clock = at;
  const from = hits.length;
  await worker().runOnce();
  return hits.slice(from);
}

async function deliveryTo(endpointId: string) {
  const [listed] = await jobs.deliveries.list(account.id, { endpointId, limit: 10 });
  return (await jobs.deliveries.get(listed!.id))!;
}

function verifies(secret: string, hit: Hit): boolean {
  try {
    new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

describe('secret rotation: the previous secret keeps signing for exactly 24 hours', () => {
  const rotatedAt = new Date('2030-03-01T12:00:00.000Z');

  it('signs Standard Webhooks with both secrets inside the window and with the new one only from 24 h on', async () => {
    const endpoint = await registered('/standard', { scheme: 'standard-webhooks' });
    clock = rotatedAt;
    const rotation = await webhooks().rotateSecret(account, endpoint.id);
    expect(rotation.previousSecretExpiresAt).toBe('2030-03-02T12:00:00.000Z');
    expect(rotation.secret).not.toBe(endpoint.secret);

    for (const at of [rotatedAt, new Date(rotatedAt.getTime() + DAY - 1)]) {
      await emit();
      const [hit] = await deliverAt(at);
      expect(String(hit!.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifies(rotation.secret, hit!)).toBe(true);
      expect(verifies(endpoint.secret!, hit!)).toBe(true);
    }

    for (const at of [new Date(rotatedAt.getTime() + DAY), new Date(rotatedAt.getTime() + 2 * DAY)]) {
      await emit();
      const [hit] = await deliverAt(at);
      expect(String(hit!.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verifies(rotation.secret, hit!)).toBe(true);
      expect(verifies(endpoint.secret!, hit!)).toBe(false);
    }
  });

  it('sends the previous secret-header secret alongside the new one for 24 h, then only the new one', async () => {
    const endpoint = await registered('/header', { scheme: 'secret-header' });
    clock = rotatedAt;
    const { secret } = await webhooks().rotateSecret(account, endpoint.id);

    await emit();
    const [inside] = await deliverAt(new Date(rotatedAt.getTime() + DAY - 1));
    expect(inside!.headers['x-webhook-secret']).toBe(secret);
    expect(inside!.headers['x-webhook-secret-previous']).toBe(endpoint.secret);

    await emit();
    const [after] = await deliverAt(new Date(rotatedAt.getTime() + DAY));
    expect(after!.headers['x-webhook-secret']).toBe(secret);
    expect(after!.headers).not.toHaveProperty('x-webhook-secret-previous');
  });
});

describe('an endpoint failing continuously for 5 days is disabled', () => {
  it('keeps it enabled at 5 days minus a second, disables it at 5 days, and announces it once', async () => {
    // Far enough back that every retry the worker schedules is already due by the store's clock.
    const firstFailure = new Date(Math.floor((Date.now() - 6 * DAY) / SECOND) * SECOND);
    const down = await registered('/down');
    const watcher = await webhooks().createEndpoint(account, { url: `${base}/ops`, events: ['endpoint.disabled'] });
    failing.add('/down');
    await emit();

    expect(await deliverAt(firstFailure)).toHaveLength(1);
    expect(await jobs.endpoints.get(down.id)).toMatchObject({ enabled: true, failingSince: firstFailure });

    expect(await deliverAt(new Date(firstFailure.getTime() + 5 * DAY - SECOND))).toHaveLength(1);
    expect(await jobs.endpoints.get(down.id)).toMatchObject({ enabled: true, disabledReason: null });
    expect(await jobs.events.list(account.id, { type: 'endpoint.disabled', limit: 10 })).toEqual([]);

    expect(await deliverAt(new Date(firstFailure.getTime() + 5 * DAY))).toHaveLength(1);
    const reason = `failing continuously since ${firstFailure.toISOString()}`;
    expect(await jobs.endpoints.get(down.id)).toMatchObject({ enabled: false, disabledReason: reason });
    expect(await deliveryTo(down.id)).toMatchObject({ state: 'failed', attempts: 3 });

    // The announcement goes out once, to the endpoint subscribed to it.
    const announced = await deliverAt(new Date(firstFailure.getTime() + 5 * DAY + SECOND));
    expect(announced.map((h) => h.path)).toEqual(['/ops']);
    const event = new Webhook(watcher.secret!).verify(announced[0]!.body, announced[0]!.headers as Record<string, string>) as {
      type: string;
      data: { object: { endpoint_id: string; reason: string } };
    };
    expect(event).toMatchObject({ type: 'endpoint.disabled', data: { object: { endpoint_id: down.id, reason } } });
    expect(await jobs.events.list(account.id, { type: 'endpoint.disabled', limit: 10 })).toHaveLength(1);
    expect(await deliverAt(new Date(firstFailure.getTime() + 5 * DAY + 2 * SECOND))).toEqual([]);
  });
});

describe('retry schedules', () => {
  /** Fail every attempt, one at a time, each when it is due; returns each delay the worker scheduled, until it gives up. */
  async function failAll(endpointId: string, start: Date): Promise<{ delays: number[]; attempts: number; state: string }> {
    const delays: number[] = [];
    let at = start;
    for (let attempt = 1; attempt <= 20; attempt++) {
      const sent = await deliverAt(at);
      // Each retry must be due when the previous one scheduled it (here: before the store's now).
      expect(sent, `attempt ${attempt} was sent`).toHaveLength(1);
      const delivery = await deliveryTo(endpointId);
      if (delivery.state !== 'pending') return { delays, attempts: delivery.attempts, state: delivery.state };
      delays.push(delivery.nextAttemptAt.getTime() - at.getTime());
      at = delivery.nextAttemptAt;
    }
    throw new Error('the worker never gave up');
  }

  /** Each delay within the documented +-20% of its step. */
  function expectWithinJitter(delays: number[], steps: number[]): void {
    expect(delays).toHaveLength(steps.length);
    delays.forEach((delay, i) => {
      expect(delay, `retry ${i + 1}`).toBeGreaterThanOrEqual(Math.floor(steps[i]! * 0.8));
      expect(delay, `retry ${i + 1}`).toBeLessThanOrEqual(Math.ceil(steps[i]! * 1.2));
    });
  }

  it("honours an endpoint's own retryScheduleSeconds: [0, 60, 600] means three attempts, 60 s and 600 s apart", async () => {
    const own = await registered('/own', { retryScheduleSeconds: [0, 60, 600] });
    failing.add('/own');
    await emit();
    const result = await failAll(own.id, new Date(Date.now() - DAY));
    expectWithinJitter(result.delays, [60 * SECOND, 600 * SECOND]);
    expect(result).toMatchObject({ attempts: 3, state: 'failed' });
    expect(hits.filter((h) => h.path === '/own')).toHaveLength(3);
  });

  it("waits at least a 429 or 503 answer's Retry-After, and at most 1 h", async () => {
    const busy = await registered('/busy');
    await emit();
    const first = new Date(Date.now() - DAY);
    replies.set('/busy', { status: 429, headers: { 'retry-after': '600' } });
    await deliverAt(first);
    const afterFirst = await deliveryTo(busy.id);
    // Past the schedule's 5 s: the receiver asked for 10 minutes.
    expect(afterFirst.nextAttemptAt.getTime() - first.getTime()).toBe(600 * SECOND);
    replies.set('/busy', { status: 503, headers: { 'retry-after': '7200' } });
    await deliverAt(afterFirst.nextAttemptAt);
    const afterSecond = await deliveryTo(busy.id);
    expect(afterSecond.nextAttemptAt.getTime() - afterFirst.nextAttemptAt.getTime()).toBe(HOUR);
    expect(afterSecond).toMatchObject({ state: 'pending', attempts: 2 });
  });

  it('retries an endpoint without its own schedule at once, after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then gives up', async () => {
    const plain = await registered('/plain');
    failing.add('/plain');
    await emit();
    const result = await failAll(plain.id, new Date(Date.now() - 3 * DAY));
    expectWithinJitter(result.delays, [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]);
    expect(result).toMatchObject({ attempts: 8, state: 'failed' });
  });
});

describe('a receiver that answers 410 Gone', () => {
  it('has its endpoint disabled at once, and a delivery still queued for it is not sent', async () => {
    const endpoint = await registered('/gone');
    replies.set('/gone', { status: 410, headers: {} });
    await emit();
    const at = new Date('2030-05-01T00:00:00.000Z');
    expect((await deliverAt(at)).map((h) => h.path)).toEqual(['/gone']);
    const [gone] = await jobs.deliveries.list(account.id, { endpointId: endpoint.id, limit: 10 });
    expect((await jobs.deliveries.get(gone!.id))!.attemptLog).toMatchObject([{ status: 410, error: 'HTTP 410', responseBody: '' }]);
    expect(await jobs.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'the receiver answered 410 Gone' });

    // Queued before the endpoint was disabled: it is settled without a request.
    const queued = sampleDelivery(account.id, endpoint.id, { createdAt: at });
    await jobs.deliveries.insert([queued]);
    expect(await deliverAt(new Date(at.getTime() + MINUTE))).toEqual([]);
    const settled = await jobs.deliveries.get(queued.id);
    expect(settled).toMatchObject({ state: 'failed' });
    expect(settled!.attemptLog.map((a) => a.error)).toEqual(['not sent: endpoint disabled (the receiver answered 410 Gone)']);
  });
});
