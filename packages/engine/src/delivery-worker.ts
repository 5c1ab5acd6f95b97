import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ClaimedDelivery, DeliveryResult, JobStore, Logger, Notifier, OutgoingMessage, WebhookNotifier } from '@ferry/core';
import { DEFAULT_DELIVERY_SCHEDULE_MS, nextDelayMs } from './retry-schedule.js';
import { endpointDisabledEvent } from './events.js';
import { activeSecrets, settleAttempts, settlementOnly, type AttemptOutcome } from './endpoint-rules.js';
import { Alarm } from './poll-loop.js';
import { sinkOf } from './sinks.js';
import { NO_METRICS, type EngineMetrics } from './metrics.js';

export interface DeliveryWorkerOptions {
  /** Deliveries in flight at once; a batch is up to this many (claimed by one statement, recorded by one transaction). */
  concurrency: number;
  /** Most deliveries in flight to one endpoint across all workers: a slow or hanging receiver never holds every slot. */
  maxInFlightPerEndpoint: number;
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
  // Receivers answer in tens to hundreds of milliseconds: a worker delivers at most
  // concurrency / latency per second (8 in flight at 100 ms: 80/s). 32 keeps a worker busy while
  // the per-endpoint cap keeps one receiver's share at 4; and a batch (up to this many) is claimed
  // by one statement and recorded by one transaction, so larger batches spend fewer round trips and
  // commits per webhook (measured in docs/benchmarks.md).
  concurrency: 32,
  maxInFlightPerEndpoint: 4,
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
 * attempts, with the same `webhook-id`, which receivers dedupe on. Deliveries to an operator's
 * sink endpoint go to that sink's notifier (a bus publish) instead of an HTTP POST, under the same
 * rules, except that a sink is never disabled.
 */
export class DeliveryWorker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly counters: DeliveryCounters = { succeeded: 0, retried: 0, failed: 0, disabled: 0 };
  readonly #opts: DeliveryWorkerOptions;
  #running = false;
  #done: Promise<void> = Promise.resolve();
  readonly #alarm = new Alarm();
  #unsubscribe: (() => void) | undefined;
  /** The last claim found nothing it could take: wait for a poke (new work, a freed slot) or the poll. */
  #drained = false;

  constructor(
    private readonly deps: {
      jobs: JobStore;
      /** POSTs webhooks to endpoint URLs. */
      notifier: WebhookNotifier;
      /** The operator's event sinks by name (config `sinks`). */
      sinks?: ReadonlyMap<string, Notifier>;
      logger: Logger;
      metrics?: EngineMetrics;
      /** The clock attempts are judged by: which secrets sign, how long an endpoint has been failing, when to retry. */
      now?: () => Date;
    },
    options: Partial<DeliveryWorkerOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_DELIVERY_WORKER_OPTIONS, ...options };
  }

  /** The lease outlives one attempt's timeout, so nobody else picks a delivery while it is in flight. */
  get #leaseMs(): number {
    return this.#opts.timeoutMs + 5_000;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.deps.jobs.onWork?.('deliveries', () => this.poke());
    this.#done = this.#pump();
  }

  /** Look for due deliveries now rather than at the next poll. */
  poke(): void {
    this.#drained = false;
    this.#alarm.wake();
  }

  /** Stop claiming; let in-flight attempts finish and record them. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.poke();
    await this.#done;
  }

  /** Attempt every due delivery once (up to `concurrency`) and record them. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const due = await this.#claim(this.#opts.concurrency);
    if (due.length === 0) return 0;
    await this.#record(await Promise.all(due.map((d) => this.#attempt(d))));
    return due.length;
  }

  /**
   * One statement, atomic on its own: lease up to `limit` due deliveries to this worker. `settling`:
   * this worker's answered attempts whose records are not committed yet; their receivers' slots are free.
   */
  #claim(limit: number, settling: readonly string[] = []): Promise<ClaimedDelivery[]> {
    return this.deps.jobs.deliveries.claim(this.id, { limit, leaseMs: this.#leaseMs, maxInFlightPerEndpoint: this.#opts.maxInFlightPerEndpoint, settling });
  }

  /**
   * Record finished attempts and what they mean for their endpoints: one transaction, or the one
   * settlement statement alone when that is all a batch changes (successes to healthy endpoints,
   * the common case). Should an endpoint have started failing meanwhile, the settlement says so
   * and it is marked healthy by a statement of its own right after.
   */
  async #record(outcomes: readonly AttemptOutcome[]): Promise<void> {
    const { jobs } = this.deps;
    const { disabled } = settlementOnly(outcomes)
      ? await settleAttempts(jobs, this.id, outcomes)
      : await jobs.transaction((tx) => settleAttempts(tx, this.id, outcomes));
    for (let i = 0; i < disabled; i++) {
      this.counters.disabled++;
      (this.deps.metrics ?? NO_METRICS).endpointDisabled();
    }
  }

  /**
   * Keeps up to `concurrency` attempts in flight. Claiming and recording run side by side, each one
   * call at a time: a claim never waits for the last batch's commit, and a recording takes every
   * attempt that finished while the one before it ran (group commit: one transaction, one fsync,
   * however many finished). On a networked store this hides a commit's latency behind the next
   * claim instead of adding the two up. Answered attempts keep their leases until recorded, but the
   * claim is told they are settling: their endpoints' slots (maxInFlightPerEndpoint) are free for
   * the next deliveries meanwhile, so an endpoint at its cap is not idle for the length of a commit.
   */
  async #pump(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const finished: AttemptOutcome[] = [];
    let recording: Promise<void> | null = null;
    /** The attempts `recording` is recording: with `finished`, those answered and not yet recorded. */
    let recordingBatch: readonly AttemptOutcome[] = [];
    let firstFinishedAt = 0;
    let lastClaimAt = 0;
    // Claims and recordings in batches of up to `concurrency`: much of a claim's or a commit's cost
    // is per batch, so full batches deliver the most per second (docs/benchmarks.md). A batch
    // gathers for at most gatherMs, so a slow receiver holding a few slots delays the other
    // deliveries' claims by that much, never by its own latency. A claim that finds nothing waits
    // for a poke (new work, a finished attempt) or the poll before the next, as an idle worker does.
    const batch = this.#opts.concurrency;
    const gatherMs = 10;
    while (this.#running || inFlight.size > 0 || finished.length > 0 || recording) {
      const now = performance.now();
      const waitedLongEnough = finished.length > 0 && now - firstFinishedAt >= gatherMs;
      if (!recording && (finished.length >= batch || (finished.length > 0 && (inFlight.size === 0 || waitedLongEnough)))) {
        recordingBatch = finished.splice(0);
        recording = this.#record(recordingBatch)
          // Unrecorded attempts are not lost: their deliveries are attempted again once the lease ends.
          .catch((err: unknown) => this.deps.logger.error({ err: String(err) }, 'delivery worker could not record attempts'))
          .finally(() => {
            // Recorded, their leases are gone; unrecorded, their leases count again until they run out.
            recordingBatch = [];
            recording = null;
            this.poke();
          });
      }
      // Attempts finished but not yet recorded still hold their leases: they count against the
      // budget too, so a store slower than the receivers cannot pile up unrecorded work.
      const free = this.#running ? Math.max(0, this.#opts.concurrency - inFlight.size - Math.max(0, finished.length - batch)) : 0;
      const gathered = now - lastClaimAt >= (this.#drained ? this.#opts.pollMs : gatherMs);
      let due: ClaimedDelivery[] = [];
      if (free >= batch || (free > 0 && (inFlight.size === 0 || gathered))) {
        try {
          const wakes = this.#alarm.wakes;
          const settling = [...finished, ...recordingBatch].map((o) => o.deliveryId);
          due = await this.#claim(free, settling);
          lastClaimAt = performance.now();
          // A poke during the claim (work queued, a slot freed, a record committed) may postdate
          // what the claim read: without it, the worker would sleep until the poll with work due.
          this.#drained = due.length === 0 && this.#alarm.wakes === wakes;
        } catch (err) {
          // A store outage must not kill the worker.
          this.deps.logger.error({ err: String(err) }, 'delivery worker could not claim deliveries');
          await this.#alarm.sleep(this.#opts.pollMs);
          continue;
        }
      }
      for (const delivery of due) {
        const p: Promise<void> = this.#attempt(delivery)
          .then((o) => {
            if (finished.length === 0) firstFinishedAt = performance.now();
            finished.push(o);
          })
          .finally(() => {
            inFlight.delete(p);
            // A freed slot may be one that an endpoint at its cap was waiting for.
            this.poke();
          });
        inFlight.add(p);
      }
      if (due.length > 0 && inFlight.size < this.#opts.concurrency) continue;
      // Wake on the next finished attempt or recording, a poke, or the timer, whichever comes first.
      const gathering = this.#running && free > 0 && !this.#drained;
      if (this.#running || inFlight.size > 0 || finished.length > 0 || recording) await this.#alarm.sleep(finished.length > 0 || gathering ? gatherMs : this.#opts.pollMs);
    }
  }

  async #attempt(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    const { notifier, logger } = this.deps;
    const { endpoint } = delivery;
    const endpointWasFailing = endpoint.failingSince !== null;
    const at = this.deps.now?.() ?? new Date();
    if (!endpoint.enabled) {
      // Nothing is sent to a disabled endpoint; the log says why the delivery stopped.
      this.counters.failed++;
      const error = `not sent: endpoint disabled (${endpoint.disabledReason ?? 'no reason recorded'})`;
      return { deliveryId: delivery.id, attempt: { at, durationMs: 0, status: null, error, responseBody: null }, next: { state: 'failed' }, endpointWasFailing };
    }
    const message: OutgoingMessage = {
      id: delivery.messageId,
      url: endpoint.url,
      body: delivery.body,
      headers: delivery.headers,
      event: { accountId: delivery.accountId, type: delivery.eventType },
    };
    const sink = sinkOf(endpoint);
    const result =
      sink === null
        ? await notifier.deliver(message, { timeoutMs: this.#opts.timeoutMs, signing: { scheme: endpoint.scheme, secrets: activeSecrets(endpoint, at) } })
        : await this.#publish(sink, message);
    const attempt = {
      at,
      durationMs: result.durationMs,
      status: result.status ?? null,
      error: result.ok ? null : (result.error ?? `HTTP ${result.status}`),
      responseBody: result.responseBody ?? null,
    };
    // Log fields are ids and outcomes only: never URLs' query strings, secrets or signatures.
    const log = { delivery: delivery.id, webhookId: delivery.messageId, event: delivery.eventType, endpoint: endpoint.id, attempt: delivery.attempts + 1, status: result.status, ...(sink === null ? {} : { sink }) };
    const metrics = this.deps.metrics ?? NO_METRICS;
    const report = (outcome: 'succeeded' | 'retried' | 'failed') => metrics.webhookAttempt({ outcome, status: result.status ?? null, seconds: result.durationMs / 1000 });
    if (result.ok) {
      this.counters.succeeded++;
      report('succeeded');
      logger.info({ ...log, ms: result.durationMs }, sink === null ? 'webhook delivered' : 'event published to sink');
      return { deliveryId: delivery.id, attempt, next: { state: 'succeeded' }, endpointWasFailing };
    }

    // A sink is the operator's own infrastructure: an outage there is retried, never a reason to stop feeding it.
    const disableReason =
      sink !== null
        ? null
        : result.status === 410
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
      report('failed');
      logger.warn({ ...log, error: attempt.error, disabled: disableReason }, sink === null ? 'webhook delivery failed for good' : 'sink publish failed for good');
      return { deliveryId: delivery.id, attempt, next: { state: 'failed' }, endpointWasFailing, ...(disableEndpoint ? { disableEndpoint } : {}) };
    }
    // Retry-After (429/503) can push the next attempt later than the schedule, within a bound.
    const wait = Math.max(delay, Math.min(result.retryAfterMs ?? 0, this.#opts.maxRetryAfterMs));
    this.counters.retried++;
    report('retried');
    logger.warn({ ...log, error: attempt.error, retryInMs: wait }, sink === null ? 'webhook delivery failed; will retry' : 'sink publish failed; will retry');
    return { deliveryId: delivery.id, attempt, next: { state: 'pending', nextAttemptAt: new Date(at.getTime() + wait) }, endpointWasFailing };
  }

  async #publish(name: string, message: OutgoingMessage): Promise<DeliveryResult> {
    const sink = this.deps.sinks?.get(name);
    // Another worker may have it configured; this one's copy of the config says nothing about the event.
    if (!sink) return { ok: false, retryable: true, durationMs: 0, error: `sink "${name}" is not configured in this process` };
    const started = performance.now();
    try {
      return await sink.deliver(message, { timeoutMs: this.#opts.timeoutMs });
    } catch (err) {
      // The contract says a notifier reports failures rather than throwing; one that throws is still
      // retried. Only the error's name is kept: its message might carry a connection string.
      return { ok: false, retryable: true, durationMs: Math.round(performance.now() - started), error: `sink "${name}" threw ${err instanceof Error ? err.name : typeof err}` };
    }
  }
}
