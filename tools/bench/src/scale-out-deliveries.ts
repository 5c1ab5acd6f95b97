/**
 * Webhook deliveries per second with 1, 2 and 4 worker processes draining one shared outbox, on
 * PostgreSQL beside SQLite, with the DeliveryWorker's default options (concurrency 32, at most 4 in
 * flight per endpoint) and the real notifier (Standard Webhooks signing, durable attempt log). The
 * deliveries go to 16 endpoints of one receiver process on 127.0.0.1, so the per-endpoint cap is
 * not what limits them. Beside them, the same number of processes POSTing with undici, nothing
 * signed or recorded: the limit of the receiver and this machine.
 */
import type { NewDelivery } from '@ferry/core';
import { DEFAULT_DELIVERY_WORKER_OPTIONS, eventId, randomId } from '@ferry/engine';
import { createWebhookNotifier } from '@ferry/notifier-webhook';
import { BODY, registerEndpoint, startReceiver } from './deliveries.js';
import type { DeliverySpec } from './delivery-process.js';
import { progressLine, runProcesses, setbackNote, type ProcessesRun } from './processes.js';
import { table, type Row } from './report.js';
import { BenchPlaces, openStore, STORE_LABEL, type StoreLocation } from './scale-out-stores.js';

export interface DeliveriesOptions {
  processes: readonly number[];
  deliveries: number;
  endpoints: number;
  /** Per measured run, start-up included. */
  timeoutMs: number;
}

/** Rates (deliveries/s) measured with one number of processes. */
export interface DeliveriesFigures {
  processes: number;
  bare: number;
  postgres: number;
  sqlite: number;
}

const DELIVERY_SCRIPT = './delivery-process';
const INSERT_BATCH = 1_000;

export async function benchScaleOutDeliveries(o: DeliveriesOptions): Promise<{ tables: string[]; figures: DeliveriesFigures[] }> {
  const receiver = await startReceiver();
  const urls = Array.from({ length: o.endpoints }, (_, i) => `${receiver.url}/${i}`);
  const { concurrency, maxInFlightPerEndpoint } = DEFAULT_DELIVERY_WORKER_OPTIONS;
  const tables: string[] = [];
  const figures: DeliveriesFigures[] = [];
  try {
    for (const n of o.processes) {
      const places = await BenchPlaces.create('deliveries');
      try {
        await seedOutbox(places.postgres, urls, o.deliveries);
        await seedOutbox(places.sqlite, urls, o.deliveries);
        await places.sql((c) => c.query(`ANALYZE "${places.postgres.schema}".deliveries, "${places.postgres.schema}".endpoints`));

        const shares = Array.from({ length: n }, (_, i) => Math.floor(o.deliveries / n) + (i < o.deliveries % n ? 1 : 0));
        const bareSpecs: DeliverySpec[] = shares.map((count) => ({ mode: 'bare', urls, count, body: BODY, concurrency }));
        const bare = await runProcesses(DELIVERY_SCRIPT, bareSpecs, { timeoutMs: o.timeoutMs });
        if (bare.units !== o.deliveries) throw new Error(`bare POST loop: ${bare.units} sent, expected ${o.deliveries}`);
        progressLine(`deliveries, ${n} process(es), bare POST loop: ${Math.round(o.deliveries / bare.seconds)}/s`);
        const ferryRun = async (at: StoreLocation) => {
          const r = await runProcesses(DELIVERY_SCRIPT, Array.from({ length: n }, (): DeliverySpec => ({ mode: 'ferry', at })), {
            timeoutMs: o.timeoutMs,
            stopAt: o.deliveries,
          });
          // More than `deliveries` would mean a delivery was sent twice.
          if (r.units !== o.deliveries) throw new Error(`Ferry on ${STORE_LABEL[at.kind]}: ${r.units} delivered, expected ${o.deliveries}`);
          await verifyDelivered(at, o.deliveries);
          progressLine(`deliveries, ${n} process(es), Ferry on ${STORE_LABEL[at.kind]}: ${Math.round(o.deliveries / r.seconds)}/s${setbackNote(r.setbacks)}`);
          return r;
        };
        const sqlite = await ferryRun(places.sqlite);
        const postgres = await ferryRun(places.postgres);

        const row = (name: string, r: ProcessesRun, baseline = false): Row => ({
          name: `${name}${setbackNote(r.setbacks)}`,
          seconds: r.seconds,
          units: o.deliveries,
          unit: 'deliveries',
          peakRssMb: r.peakRssMb,
          baseline,
        });
        const worker = `DeliveryWorker defaults (concurrency ${concurrency}, ${maxInFlightPerEndpoint} in flight per endpoint), Standard Webhooks signed, attempt log`;
        tables.push(
          table(
            `Webhook deliveries, ${n} worker process${n === 1 ? '' : 'es'}, ${o.deliveries.toLocaleString('en-US')} to ${o.endpoints} endpoints on 127.0.0.1`,
            [
              row(`bare undici POST loop, ${concurrency} at a time per process`, bare, true),
              row(`Ferry, SQLite: ${worker}`, sqlite),
              row(`Ferry, PostgreSQL: ${worker}`, postgres),
            ],
            'rate',
          ),
        );
        const rate = (r: { seconds: number }) => o.deliveries / r.seconds;
        figures.push({ processes: n, bare: rate(bare), postgres: rate(postgres), sqlite: rate(sqlite) });
      } finally {
        await places.remove();
      }
    }
  } finally {
    receiver.stop();
  }
  return { tables, figures };
}

/** One account, `urls.length` registered Standard Webhooks endpoints, and `count` deliveries queued round-robin over them. */
async function seedOutbox(at: StoreLocation, urls: readonly string[], count: number): Promise<void> {
  const store = await openStore(at, { migrate: true, listen: false });
  const notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
  try {
    const account = await store.accounts.create({ name: 'bench', createdAt: new Date() });
    const endpointIds: string[] = [];
    for (const url of urls) {
      const id = randomId('ep');
      await registerEndpoint(store, notifier, { id, accountId: account.id, url });
      endpointIds.push(id);
    }
    for (let start = 0; start < count; start += INSERT_BATCH) {
      const batch: NewDelivery[] = [];
      for (let i = start; i < Math.min(start + INSERT_BATCH, count); i++) {
        const messageId = eventId();
        batch.push({
          id: randomId('dlv'),
          accountId: account.id,
          endpointId: endpointIds[i % endpointIds.length]!,
          messageId,
          exportId: null,
          eventType: 'export.completed',
          body: BODY,
          headers: {},
          createdAt: new Date(),
        });
      }
      await store.transaction((tx) => tx.deliveries.insert(batch));
    }
  } finally {
    await notifier.close();
    await store.close();
  }
}

async function verifyDelivered(at: StoreLocation, expected: number): Promise<void> {
  const store = await openStore(at, { listen: false });
  try {
    const counts = await store.deliveries.countByState();
    if (counts.succeeded !== expected || counts.pending !== 0 || counts.failed !== 0) {
      throw new Error(`Ferry on ${STORE_LABEL[at.kind]}: ${JSON.stringify(counts)}, expected ${expected} succeeded`);
    }
  } finally {
    await store.close();
  }
}
