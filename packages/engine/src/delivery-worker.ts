import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Delivery, JobStore, Logger, Notifier } from '@ferry/core';
import { PollLoop } from './poll-loop.js';
import { DEFAULT_DELIVERY_SCHEDULE_MS, nextDelayMs } from './retry-schedule.js';

export interface DeliveryWorkerOptions {
  /** Deliveries in flight at once. */
  concurrency: number;
  /** Delay before each attempt; attempt n waits schedule[n-1]. */
  scheduleMs: readonly number[];
  timeoutMs: number;
  pollMs: number;
  /** Upper bound on a receiver's Retry-After. */
  maxRetryAfterMs: number;
}

export const DEFAULT_DELIVERY_WORKER_OPTIONS: DeliveryWorkerOptions = {
  concurrency: 8,
  scheduleMs: DEFAULT_DELIVERY_SCHEDULE_MS,
  timeoutMs: 15_000,
  pollMs: 250,
  maxRetryAfterMs: 3_600_000,
};

export interface DeliveryCounters {
  succeeded: number;
  retried: number;
  failed: number;
}

/**
 * Drains the outbox: each due delivery gets one attempt, recorded with its outcome and next state
 * in one transaction. A crash between sending and recording repeats only that attempt, with the
 * same id, which receivers dedupe on.
 */
export class DeliveryWorker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly counters: DeliveryCounters = { succeeded: 0, retried: 0, failed: 0 };
  readonly #opts: DeliveryWorkerOptions;
  readonly #loop: PollLoop;

  constructor(
    private readonly deps: { jobs: JobStore; notifier: Notifier; logger: Logger },
    options: Partial<DeliveryWorkerOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_DELIVERY_WORKER_OPTIONS, ...options };
    this.#loop = new PollLoop(async () => (await this.runOnce()) > 0, this.#opts.pollMs, (err) =>
      this.deps.logger.error({ err: String(err) }, 'delivery worker tick failed'),
    );
  }

  start(): void {
    this.#loop.start();
  }

  poke(): void {
    this.#loop.poke();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Attempt every due delivery once (up to `concurrency`). Returns how many were attempted. */
  async runOnce(): Promise<number> {
    // The lease outlives one attempt's timeout, so nobody else picks a delivery while it is in flight.
    const due = await this.deps.jobs.claimDeliveries(this.id, this.#opts.concurrency, this.#opts.timeoutMs * 2 + 5_000);
    await Promise.all(due.map((d) => this.#attempt(d)));
    return due.length;
  }

  async #attempt(delivery: Delivery): Promise<void> {
    const { jobs, notifier, logger } = this.deps;
    const at = new Date();
    const result = await notifier.deliver(
      { id: delivery.id, url: delivery.url, body: delivery.body, headers: delivery.headers },
      { timeoutMs: this.#opts.timeoutMs },
    );
    const attempt = {
      at,
      durationMs: result.durationMs,
      status: result.status ?? null,
      error: result.ok ? null : (result.error ?? `HTTP ${result.status}`),
      responseBody: result.responseBody ?? null,
    };
    const log = { delivery: delivery.id, event: delivery.eventType, attempt: delivery.attempts + 1, status: result.status };
    if (result.ok) {
      await jobs.recordAttempt(delivery.id, this.id, attempt, { state: 'succeeded' });
      this.counters.succeeded++;
      logger.info(log, 'webhook delivered');
      return;
    }
    const delay = result.retryable ? nextDelayMs(this.#opts.scheduleMs, delivery.attempts + 1) : null;
    if (delay === null) {
      await jobs.recordAttempt(delivery.id, this.id, attempt, { state: 'failed' });
      this.counters.failed++;
      logger.warn({ ...log, error: attempt.error }, 'webhook delivery failed for good');
      return;
    }
    const wait = Math.max(delay, Math.min(result.retryAfterMs ?? 0, this.#opts.maxRetryAfterMs));
    await jobs.recordAttempt(delivery.id, this.id, attempt, { state: 'pending', nextAttemptAt: new Date(Date.now() + wait) });
    this.counters.retried++;
    logger.warn({ ...log, error: attempt.error, retryInMs: wait }, 'webhook delivery failed; will retry');
  }
}
