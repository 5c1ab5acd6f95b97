import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AttemptOutcome, ClaimedDelivery, JobStore, Logger, Notifier } from '@ferry/core';
import { PollLoop } from './poll-loop.js';
import { DEFAULT_DELIVERY_SCHEDULE_MS, nextDelayMs } from './retry-schedule.js';
import { endpointDisabledEvent } from './events.js';

export interface DeliveryWorkerOptions {
  /** Deliveries in flight at once (and recorded together in one transaction). */
  concurrency: number;
  /** Delay before each attempt of a cycle; attempt n waits schedule[n-1]. Endpoints may override it. */
  scheduleMs: readonly number[];
  timeoutMs: number;
  pollMs: number;
  /** Upper bound on a receiver's Retry-After. */
  maxRetryAfterMs: number;
  /** An endpoint failing continuously for this long is disabled. */
  disableAfterMs: number;
}

export const DEFAULT_DELIVERY_WORKER_OPTIONS: DeliveryWorkerOptions = {
  concurrency: 8,
  scheduleMs: DEFAULT_DELIVERY_SCHEDULE_MS,
  timeoutMs: 15_000,
  pollMs: 250,
  maxRetryAfterMs: 3_600_000,
  disableAfterMs: 5 * 24 * 3_600_000,
};

export interface DeliveryCounters {
  succeeded: number;
  retried: number;
  failed: number;
  disabled: number;
}

/**
 * Drains the outbox: each due delivery gets one attempt, and a batch of attempts is recorded with
 * their next states in one transaction. A crash between sending and recording repeats only those
 * attempts, with the same `webhook-id`, which receivers dedupe on.
 */
export class DeliveryWorker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly counters: DeliveryCounters = { succeeded: 0, retried: 0, failed: 0, disabled: 0 };
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
    const due = await this.deps.jobs.claimDeliveries(this.id, this.#opts.concurrency, this.#opts.timeoutMs + 5_000);
    if (due.length === 0) return 0;
    const outcomes = await Promise.all(due.map((d) => this.#attempt(d)));
    await this.deps.jobs.recordAttempts(this.id, outcomes);
    return due.length;
  }

  async #attempt(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    const { notifier, logger } = this.deps;
    const { endpoint } = delivery;
    const at = new Date();
    if (!endpoint.enabled) {
      // Nothing is sent to a disabled endpoint; the log says why the delivery stopped.
      this.counters.failed++;
      const error = `not sent: endpoint disabled (${endpoint.disabledReason ?? 'no reason recorded'})`;
      return { deliveryId: delivery.id, attempt: { at, durationMs: 0, status: null, error, responseBody: null }, next: { state: 'failed' } };
    }
    const result = await notifier.deliver(
      { id: delivery.messageId, url: endpoint.url, body: delivery.body, headers: delivery.headers },
      { timeoutMs: this.#opts.timeoutMs, signing: { scheme: endpoint.scheme, secrets: endpoint.secrets.map((s) => s.value) } },
    );
    const attempt = {
      at,
      durationMs: result.durationMs,
      status: result.status ?? null,
      error: result.ok ? null : (result.error ?? `HTTP ${result.status}`),
      responseBody: result.responseBody ?? null,
    };
    // Log fields are ids and outcomes only: never URLs' query strings, secrets or signatures.
    const log = { delivery: delivery.id, webhookId: delivery.messageId, event: delivery.eventType, endpoint: endpoint.id, attempt: delivery.attempts + 1, status: result.status };
    if (result.ok) {
      this.counters.succeeded++;
      logger.info({ ...log, ms: result.durationMs }, 'webhook delivered');
      return { deliveryId: delivery.id, attempt, next: { state: 'succeeded' } };
    }

    const disableReason =
      result.status === 410
        ? 'the receiver answered 410 Gone'
        : endpoint.failingSince && at.getTime() - endpoint.failingSince.getTime() >= this.#opts.disableAfterMs
          ? `failing continuously since ${endpoint.failingSince.toISOString()}`
          : null;
    const disableEndpoint = disableReason
      ? { reason: disableReason, event: endpointDisabledEvent(delivery.accountId, endpoint, disableReason, at) }
      : undefined;
    const delay = result.retryable && !disableReason ? nextDelayMs(endpoint.scheduleMs ?? this.#opts.scheduleMs, delivery.retryIndex + 1) : null;
    if (delay === null) {
      this.counters.failed++;
      if (disableEndpoint) this.counters.disabled++;
      logger.warn({ ...log, error: attempt.error, disabled: disableReason }, 'webhook delivery failed for good');
      return { deliveryId: delivery.id, attempt, next: { state: 'failed' }, ...(disableEndpoint ? { disableEndpoint } : {}) };
    }
    // Retry-After (429/503) can push the next attempt later than the schedule, within a bound.
    const wait = Math.max(delay, Math.min(result.retryAfterMs ?? 0, this.#opts.maxRetryAfterMs));
    this.counters.retried++;
    logger.warn({ ...log, error: attempt.error, retryInMs: wait }, 'webhook delivery failed; will retry');
    return { deliveryId: delivery.id, attempt, next: { state: 'pending', nextAttemptAt: new Date(at.getTime() + wait) } };
  }
}
