import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobStore } from '@ferry/core';
import type { EngineMetrics } from '@ferry/engine';

const statusClass = (status: number | null) => (status === null ? 'none' : `${Math.floor(status / 100)}xx`);

/**
 * Ferry's Prometheus metrics. Counters and histograms count what this process did; gauges of
 * queues and states are read from the job store at scrape time, so every process shows the
 * whole installation's queue. Labels are low-cardinality only (state, format, outcome, class).
 */
export class FerryMetrics implements EngineMetrics {
  readonly registry = new Registry();
  readonly #exports: Counter<'outcome' | 'format'>;
  readonly #duration: Histogram<'format'>;
  readonly #rows: Counter<'format'>;
  readonly #bytes: Counter<'format'>;
  readonly #attempts: Counter<'outcome' | 'status_class'>;
  readonly #attemptSeconds: Histogram;
  readonly #disabled: Counter;
  readonly #leasesLost: Counter<'kind'>;

  constructor(jobs: JobStore) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'ferry_' });
    this.#exports = new Counter({ name: 'ferry_exports_total', help: 'Export attempts ended in this process, by outcome and format.', labelNames: ['outcome', 'format'], registers });
    this.#duration = new Histogram({
      name: 'ferry_export_duration_seconds',
      help: 'Time from claim to completion of exports completed in this process.',
      labelNames: ['format'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers,
    });
    this.#rows = new Counter({ name: 'ferry_export_rows_total', help: 'Rows written by exports completed in this process.', labelNames: ['format'], registers });
    this.#bytes = new Counter({ name: 'ferry_export_bytes_total', help: 'Bytes stored by exports completed in this process.', labelNames: ['format'], registers });
    this.#attempts = new Counter({ name: 'ferry_webhook_attempts_total', help: 'Webhook attempts made by this process, by outcome and HTTP status class.', labelNames: ['outcome', 'status_class'], registers });
    this.#attemptSeconds = new Histogram({
      name: 'ferry_webhook_attempt_duration_seconds',
      help: 'Latency of webhook attempts made by this process.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30],
      registers,
    });
    this.#disabled = new Counter({ name: 'ferry_endpoints_disabled_total', help: 'Endpoints this process disabled (410 Gone, or failing too long).', registers });
    this.#leasesLost = new Counter({ name: 'ferry_leases_lost_total', help: 'Leases this process lost while working (another worker took the job over).', labelNames: ['kind'], registers });

    new Gauge({
      name: 'ferry_exports',
      help: 'Exports in the job store, by state.',
      labelNames: ['state'],
      registers,
      async collect() {
        for (const [state, n] of Object.entries(await jobs.exports.countByState())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'ferry_deliveries',
      help: 'Webhook deliveries in the job store, by state.',
      labelNames: ['state'],
      registers,
      async collect() {
        for (const [state, n] of Object.entries(await jobs.deliveries.countByState())) this.set({ state }, n);
      },
    });
    const queues = { exports: () => jobs.exports.queueStats(), deliveries: () => jobs.deliveries.queueStats() };
    new Gauge({
      name: 'ferry_queue_depth',
      help: 'Work due now and not yet claimed, by queue.',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const [queue, stats] of Object.entries(queues)) this.set({ queue }, (await stats()).due);
      },
    });
    new Gauge({
      name: 'ferry_queue_in_flight',
      help: 'Work claimed by a live worker, by queue.',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const [queue, stats] of Object.entries(queues)) this.set({ queue }, (await stats()).inFlight);
      },
    });
    new Gauge({
      name: 'ferry_queue_oldest_age_seconds',
      help: 'How long the oldest due, unclaimed item has waited, by queue (0 when none).',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const [queue, stats] of Object.entries(queues)) {
          const oldest = (await stats()).oldestDueAt;
          this.set({ queue }, oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
        }
      },
    });
  }

  exportEnded(e: Parameters<EngineMetrics['exportEnded']>[0]): void {
    this.#exports.inc({ outcome: e.outcome, format: e.format });
    if (e.outcome !== 'completed') return;
    this.#duration.observe({ format: e.format }, e.seconds);
    this.#rows.inc({ format: e.format }, e.rows);
    this.#bytes.inc({ format: e.format }, e.bytes);
  }

  webhookAttempt(a: Parameters<EngineMetrics['webhookAttempt']>[0]): void {
    this.#attempts.inc({ outcome: a.outcome, status_class: statusClass(a.status) });
    this.#attemptSeconds.observe(a.seconds);
  }

  endpointDisabled(): void {
    this.#disabled.inc();
  }

  leaseLost(kind: 'export'): void {
    this.#leasesLost.inc({ kind });
  }
}
