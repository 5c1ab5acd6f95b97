/**
 * Signed, durably logged webhook deliveries per second to a receiver on 127.0.0.1, beside a bare
 * undici POST loop to the same receiver in the same run (the ceiling): on the SQLite store (the
 * default), then on PostgreSQL (a schema of its own on 127.0.0.1, dropped afterwards).
 *
 *   npm run bench -- deliveries [count=20000] [concurrency]
 *
 * Without a concurrency, Ferry runs on the delivery worker's defaults (what `ferry serve` uses) and
 * the bare loop at that same concurrency.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { silentLogger, type JobStore, type NewEvent } from '@ferry/core';
import { DEFAULT_DELIVERY_WORKER_OPTIONS, DeliveryWorker, recordEvents } from '@ferry/engine';
import { createWebhookNotifier, type WebhookNotifier } from '@ferry/notifier-webhook';
import { script } from './child.js';
import { measure, table, type Row } from './report.js';
import { BenchPlaces, openStore, STORE_LABEL } from './scale-out-stores.js';

export async function startReceiver(): Promise<{ url: string; stop: () => void }> {
  const { path, execArgv } = script('./receiver');
  const child = spawn(process.execPath, [...execArgv, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (c: Buffer) => resolve(c.toString().trim())));
  return { url: `http://127.0.0.1:${port}/hook`, stop: () => child.kill('SIGTERM') };
}

/** A registered Standard Webhooks endpoint receiving every event of `accountId`, with a fresh secret. */
export async function registerEndpoint(
  jobs: Pick<JobStore, 'endpoints'>,
  notifier: WebhookNotifier,
  endpoint: { id: string; accountId: number; url: string },
): Promise<void> {
  await jobs.endpoints.insert({
    ...endpoint,
    scheme: 'standard-webhooks',
    secrets: [{ value: notifier.createSecret('standard-webhooks'), expiresAt: null }],
    events: ['*'],
    description: null,
    registered: true,
    scheduleMs: null,
    createdAt: new Date(),
  });
}

export const BODY = JSON.stringify({ type: 'export.completed', id: 'evt_x', created: 0, data: { object: { uuid: randomUUID(), object: 'rentals', filters: [] } } });

export async function benchDeliveries(count = 20_000, asked?: number): Promise<string> {
  const concurrency = asked ?? DEFAULT_DELIVERY_WORKER_OPTIONS.concurrency;
  const receiver = await startReceiver();
  const rows: Row[] = [];
  /** Each store's rate over the bare dispatch loop's. */
  const overDispatch: string[] = [];
  try {
    // The ceiling: plain POSTs, same body, same concurrency, nothing signed or recorded.
    const agent = new Agent({ connections: concurrency });
    const bare = await measure(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < count) {
            const res = await request(receiver.url, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' }, dispatcher: agent });
            await res.body.dump();
          }
        }),
      );
    });
    await agent.close();
    rows.push({ name: 'bare undici POST loop', seconds: bare.seconds, units: count, unit: 'requests', peakRssMb: bare.peakRssMb, baseline: true });
    // Beside it, not the limit: the same POSTs through undici's lower-level `dispatch`, which
    // Ferry's notifier uses (no response stream or promise per request).
    const dispatchAgent = new Agent({ connections: concurrency });
    const dispatched = await measure(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < count) await dispatchPost(dispatchAgent, new URL(receiver.url));
        }),
      );
    });
    await dispatchAgent.close();
    const dispatchRate = count / dispatched.seconds;
    rows.push({ name: 'bare undici dispatch loop (the API Ferry sends with; not the limit)', seconds: dispatched.seconds, units: count, unit: 'requests', peakRssMb: dispatched.peakRssMb });

    // On the store `ferry serve` uses by default (SQLite), then beside it, labelled, on the
    // self-hosters' PostgreSQL, where claims and recordings run side by side on connections of their own.
    const places = await BenchPlaces.create('deliveries');
    try {
      for (const at of [places.sqlite, places.postgres]) {
        const jobs = await openStore(at, { migrate: true });
        try {
          const ferry = await ferryDeliveries(jobs, STORE_LABEL[at.kind], receiver.url, count, asked);
          rows.push(ferry);
          overDispatch.push(`Ferry on ${STORE_LABEL[at.kind]}: ${(count / ferry.seconds / dispatchRate).toFixed(2)}`);
        } finally {
          await jobs.close();
        }
      }
    } finally {
      await places.remove();
    }
  } finally {
    receiver.stop();
  }
  return `${table(`Webhook deliveries, ${count.toLocaleString('en-US')} to one receiver on 127.0.0.1`, rows, 'rate')}\n\nFerry's rate over the bare dispatch loop's: ${overDispatch.join('; ')}`;
}

/**
 * Ferry's delivery worker on `jobs` (migrated, empty): `count` events recorded for delivery, then
 * delivered until every one has succeeded. The deliveries are spread over as many endpoints as the
 * worker's concurrency needs to fill (one account each, on the same receiver): a worker keeps at
 * most maxInFlightPerEndpoint attempts in flight per endpoint (fairness between receivers), and what
 * is measured is the cost per delivery, not that cap.
 */
async function ferryDeliveries(jobs: JobStore, store: string, receiverUrl: string, count: number, asked: number | undefined): Promise<Row> {
  const concurrency = asked ?? DEFAULT_DELIVERY_WORKER_OPTIONS.concurrency;
  const notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
  try {
    const endpoints = Math.max(1, Math.ceil(concurrency / DEFAULT_DELIVERY_WORKER_OPTIONS.maxInFlightPerEndpoint));
    const accounts: number[] = [];
    for (let k = 0; k < endpoints; k++) {
      const account = await jobs.accounts.create({ name: `bench-${k}`, createdAt: new Date() });
      accounts.push(account.id);
      await registerEndpoint(jobs, notifier, { id: `ep_bench_${k}`, accountId: account.id, url: `${receiverUrl}?endpoint=${k}` });
    }
    const events: NewEvent[] = Array.from({ length: count }, (_, i) => ({
      id: `evt_${i}`,
      accountId: accounts[i % endpoints]!,
      type: 'export.completed',
      created: new Date(),
      exportId: null,
      body: BODY,
    }));
    await jobs.transaction((tx) => recordEvents(tx, events));
    const worker = new DeliveryWorker({ jobs, notifier, logger: silentLogger }, asked === undefined ? {} : { concurrency });
    const ferry = await measure(async () => {
      worker.start();
      while (worker.counters.succeeded < count) await new Promise((r) => setTimeout(r, 20));
      await worker.stop();
    });
    let delivered = 0;
    for (const id of accounts) delivered += (await jobs.deliveries.countByState(id)).succeeded;
    if (delivered !== count) throw new Error(`expected ${count} delivered, got ${delivered}`);
    return {
      name: `Ferry on ${store}: Standard Webhooks signed, outbox claim + attempt log in ${store} (durable commits), ${asked === undefined ? `defaults (concurrency ${concurrency})` : `concurrency ${concurrency}`}, ${endpoints} endpoints`,
      seconds: ferry.seconds,
      units: count,
      unit: 'requests',
      peakRssMb: ferry.peakRssMb,
    };
  } finally {
    await notifier.close();
  }
}

/** One POST of BODY through `dispatch`, resolved when the response has been read to its end. */
function dispatchPost(agent: Agent, url: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    agent.dispatch(
      { origin: url.origin, path: `${url.pathname}${url.search}`, method: 'POST', body: BODY, headers: { 'content-type': 'application/json' } },
      {
        // undici 7 recognises a handler of its current API by this method.
        onRequestStart: () => undefined,
        onResponseEnd: () => resolve(),
        onResponseError: (_controller, err) => reject(err),
      },
    );
  });
}
