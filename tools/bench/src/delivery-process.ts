/**
 * One delivery worker process of the scale-out deliveries benchmark (forked by
 * scale-out-deliveries.ts): the real DeliveryWorker with the options users get by default and the
 * real webhook notifier (Standard Webhooks signing; 127.0.0.1 allowed), draining the shared outbox
 * until told to stop. Or, for the limit, a bare undici POST loop with the same concurrency.
 */
import { Agent, request } from 'undici';
import { silentLogger, type JobStore, type Logger } from '@ferry/core';
import { DEFAULT_DELIVERY_WORKER_OPTIONS, DeliveryWorker } from '@ferry/engine';
import { createWebhookNotifier } from '@ferry/notifier-webhook';
import { childSpec, serveParent, type ChildWork } from './processes.js';
import { openStore, type StoreLocation } from './scale-out-stores.js';

export type DeliverySpec =
  | { mode: 'ferry'; at: StoreLocation }
  /** POST `count` requests round-robin over `urls`, `concurrency` at a time. */
  | { mode: 'bare'; urls: string[]; count: number; body: string; concurrency: number };

const spec = childSpec<DeliverySpec>();

serveParent(() => (spec.mode === 'ferry' ? ferryDeliveries(spec.at) : barePosts(spec)));

async function ferryDeliveries(at: StoreLocation): Promise<ChildWork> {
  const jobs: JobStore = await openStore(at);
  const notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
  // The worker logs a failed tick (a store error) at error level, then carries on: count those.
  const setbacks = { 'store errors (the worker waited a poll and went on)': 0 };
  const logger: Logger = { ...silentLogger, error: () => void setbacks['store errors (the worker waited a poll and went on)']++ };
  const worker = new DeliveryWorker({ jobs, notifier, logger }, DEFAULT_DELIVERY_WORKER_OPTIONS);
  return {
    async run(stopped) {
      worker.start();
      await stopped;
      // Stopping lets the attempts in flight finish and records them: the run ends durable.
      await worker.stop();
      return worker.counters.succeeded;
    },
    progress: () => worker.counters.succeeded,
    setbacks: () => setbacks,
    async close() {
      await notifier.close();
      await jobs.close();
    },
  };
}

async function barePosts(s: Extract<DeliverySpec, { mode: 'bare' }>): Promise<ChildWork> {
  const agent = new Agent({ connections: s.concurrency });
  let sent = 0;
  let next = 0;
  return {
    async run() {
      await Promise.all(
        Array.from({ length: s.concurrency }, async () => {
          for (let i = next++; i < s.count; i = next++) {
            const res = await request(s.urls[i % s.urls.length]!, { method: 'POST', body: s.body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
            await res.body.dump();
            if (res.statusCode >= 300) throw new Error(`the receiver answered ${res.statusCode}`);
            sent++;
          }
        }),
      );
      return sent;
    },
    progress: () => sent,
    setbacks: () => ({}),
    close: () => agent.close(),
  };
}
