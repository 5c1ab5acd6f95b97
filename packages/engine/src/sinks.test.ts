import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError, silentLogger, type Account, type JobStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { createWebhookNotifier, type WebhookNotifier } from '@ferry/notifier-webhook';
import { createNatsNotifier, natsOptionsSchema } from '@ferry/notifier-nats';
import { AccountService } from './account-service.js';
import { DeliveryWorker } from './delivery-worker.js';
import { recordEvents } from './outbox.js';
import { SinkEndpoints, sinkEndpointId, sinkOf } from './sinks.js';
import { WebhookService } from './webhook-service.js';
import { randomId } from './ids.js';

/*
 * Operator sinks ride on the outbox through one hidden endpoint per account and sink. These cases
 * need no broker: what the endpoints are, who sees them, and what the delivery worker does when a
 * sink cannot be reached. Publishing to NATS itself is in sink-delivery.test.ts.
 */

let dir: string;
let jobs: JobStore;
let webhookNotifier: WebhookNotifier;
let account: Account;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-sinks-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  account = await jobs.accounts.create({ name: 'tenant', createdAt: new Date() });
  webhookNotifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
});

afterEach(async () => {
  await webhookNotifier.close();
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

const webhooks = () => new WebhookService({ jobs, notifier: webhookNotifier });

async function emit(type: string, accountId = account.id): Promise<string> {
  const id = randomId('evt');
  const body = JSON.stringify({ type, id, created: 1_700_000_000, data: { object: {} } });
  await jobs.transaction((tx) => recordEvents(tx, [{ id, accountId, type, created: new Date(), exportId: null, body }]));
  return id;
}

async function deliveriesTo(endpointId: string) {
  return jobs.deliveries.list(account.id, { endpointId, limit: 1000 });
}

async function expectNotFound(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  expect((err as FerryError).code).toBe('NOT_FOUND');
}

describe('sink endpoints', () => {
  it('gives every account one endpoint per sink, subscribed to every event type, so each event is queued for the sink', async () => {
    const other = await jobs.accounts.create({ name: 'other', createdAt: new Date() });
    expect(await new SinkEndpoints({ jobs, names: ['bus', 'audit'] }).syncAll()).toMatchObject({ accounts: 2, created: 4 });
    const bus = sinkEndpointId(account.id, 'bus');
    expect(await jobs.endpoints.get(bus)).toMatchObject({ url: 'ferry-sink://bus', events: ['*'], registered: true, enabled: true });
    expect(sinkOf((await jobs.endpoints.get(sinkEndpointId(other.id, 'audit')))!)).toBe('audit');

    const ids = [await emit('export.requested'), await emit('dataset.version.published'), await emit('endpoint.disabled')];
    expect((await deliveriesTo(bus)).map((d) => [d.messageId, d.eventType])).toEqual([
      [ids[0], 'export.requested'],
      [ids[1], 'dataset.version.published'],
      [ids[2], 'endpoint.disabled'],
    ]);
    expect(await deliveriesTo(sinkEndpointId(other.id, 'bus'))).toEqual([]);
  });

  it('syncs all accounts again only when the configured sinks change; a removed sink is disabled and gets no more events', async () => {
    expect((await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll()).accounts).toBe(1);
    expect((await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll()).accounts).toBe(0);

    expect(await new SinkEndpoints({ jobs, names: [] }).syncAll()).toMatchObject({ accounts: 1, disabled: 1 });
    const bus = sinkEndpointId(account.id, 'bus');
    expect(await jobs.endpoints.get(bus)).toMatchObject({ enabled: false, disabledReason: 'sink "bus" is not configured' });
    await emit('export.completed');
    expect(await deliveriesTo(bus)).toEqual([]);

    expect(await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll()).toMatchObject({ accounts: 1, enabled: 1, created: 0 });
    await emit('export.completed');
    expect(await deliveriesTo(bus)).toHaveLength(1);
  });

  it('creates an account with its sink endpoints in one transaction', async () => {
    const accounts = new AccountService({ jobs, sinkNames: ['bus'] });
    const created = await accounts.createAccount('new tenant');
    expect(await jobs.endpoints.get(sinkEndpointId(created.id, 'bus'))).toMatchObject({ accountId: created.id, enabled: true });
  });

  it('ends with one endpoint per sink when two processes sync the same account at once', async () => {
    const second = new SqliteJobStore({ file: join(dir, 'ferry.db') });
    try {
      await Promise.all([new SinkEndpoints({ jobs, names: ['bus'] }).syncAccount(account.id), new SinkEndpoints({ jobs: second, names: ['bus'] }).syncAccount(account.id)]);
      expect((await jobs.endpoints.listRegistered(account.id)).filter((e) => sinkOf(e) !== null).map((e) => e.id)).toEqual([sinkEndpointId(account.id, 'bus')]);
    } finally {
      await second.close();
    }
  });
});

describe('what an account sees of sinks', () => {
  it('neither lists nor opens a sink endpoint, and refuses to change, rotate or delete it', async () => {
    await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll();
    const own = await webhooks().createEndpoint(account, { url: 'http://127.0.0.1:9/hook', events: ['*'] });
    expect((await webhooks().listEndpoints(account)).data.map((e) => e.id)).toEqual([own.id]);
    const bus = sinkEndpointId(account.id, 'bus');
    await expectNotFound(webhooks().getEndpoint(account, bus));
    await expectNotFound(webhooks().updateEndpoint(account, bus, { enabled: false }));
    await expectNotFound(webhooks().rotateSecret(account, bus));
    await expectNotFound(webhooks().deleteEndpoint(account, bus));
    expect(await jobs.endpoints.get(bus)).toMatchObject({ enabled: true });
  });

  it('leaves deliveries to sinks out of the delivery log, page by page, and will not open or redeliver one', async () => {
    await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll();
    const own = await webhooks().createEndpoint(account, { url: 'http://127.0.0.1:9/hook', events: ['*'] });
    const events = [await emit('export.requested'), await emit('export.completed'), await emit('export.downloaded')];

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { data, hasMore } = await webhooks().listDeliveries(account, { limit: '1', ...(cursor ? { starting_after: cursor } : {}) });
      seen.push(...data.map((d) => `${d.endpointId}:${d.webhookId}`));
      if (!hasMore) break;
      cursor = data.at(-1)!.id;
    }
    expect(seen).toEqual(events.map((e) => `${own.id}:${e}`));

    const [sinkDelivery] = await deliveriesTo(sinkEndpointId(account.id, 'bus'));
    await expectNotFound(webhooks().getDelivery(account, sinkDelivery!.id));
    await expectNotFound(webhooks().redeliver(account, sinkDelivery!.id));
  });
});

describe('delivering to a sink that cannot take the event', () => {
  it('retries on the schedule and never disables the sink, however long it has been failing', async () => {
    await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll();
    const bus = sinkEndpointId(account.id, 'bus');
    await jobs.endpoints.markFailing(bus, new Date(Date.now() - 30 * 86_400_000));
    await emit('export.completed');
    // Nothing listens on port 1: the broker is down.
    const sink = createNatsNotifier(natsOptionsSchema.parse({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 500 }));
    try {
      const worker = new DeliveryWorker({ jobs, notifier: webhookNotifier, sinks: new Map([['bus', sink]]), logger: silentLogger }, { timeoutMs: 2_000 });
      expect(await worker.runOnce()).toBe(1);
      const [delivery] = await deliveriesTo(bus);
      expect(delivery).toMatchObject({ state: 'pending', attempts: 1 });
      expect(delivery!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
      expect(await jobs.endpoints.get(bus)).toMatchObject({ enabled: true });
      expect(worker.counters).toMatchObject({ retried: 1, disabled: 0 });
    } finally {
      await sink.close();
    }
  });

  it('retries, rather than fails, a delivery to a sink this worker was not configured with', async () => {
    await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll();
    await emit('export.completed');
    const worker = new DeliveryWorker({ jobs, notifier: webhookNotifier, logger: silentLogger });
    expect(await worker.runOnce()).toBe(1);
    const [delivery] = await deliveriesTo(sinkEndpointId(account.id, 'bus'));
    expect(delivery).toMatchObject({ state: 'pending', lastError: 'sink "bus" is not configured in this process' });
  });
});
