import { FerryError, type Catalog, type DatasetDefinition, type FieldPath, type JobStore, type Logger, type Schedule } from '@ferry/core';
import { ExportService, type ExportServiceDeps } from '../export-service.js';
import { PollLoop } from '../poll-loop.js';
import { parseCron } from './cron.js';
import { presignedNotifier } from './presigned-notifier.js';
import type { SavedExport } from './schedule-service.js';

export interface SchedulerDeps {
  jobs: JobStore;
  catalog: Catalog;
  logger: Logger;
  /** What a saved export is submitted through (the same as the API's ExportService). */
  exports: ExportServiceDeps;
  /** Publish a dataset version (VersionPublisher.publish). */
  publish: (datasetKey: string) => Promise<unknown>;
  /** Called after a scheduled export is queued, so an in-process worker starts at once. */
  onQueued?: () => void;
  /** Injectable clock (tests). */
  now?: () => Date;
}

export interface SchedulerOptions {
  pollMs: number;
  /** Due schedules taken per pass. */
  batch: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { pollMs: 5_000, batch: 20 };

/** Schedule id of a catalog dataset's publish schedule. */
export const versionScheduleId = (datasetKey: string): string => `dsv_${datasetKey}`;

/** Reject a bad `versioning.schedule` at startup, with its config path. */
export function checkVersionSchedules(datasets: readonly DatasetDefinition[], basePath: FieldPath = ['datasets']): void {
  datasets.forEach((d, i) => {
    const cron = d.versioning?.schedule;
    if (!cron) return;
    const path = [...basePath, i, 'versioning', 'schedule'];
    try {
      parseCron(cron, path);
    } catch (err) {
      throw new FerryError('INVALID_CONFIG', err instanceof Error ? err.message : String(err), { path });
    }
    if (!d.primaryKey?.length) throw new FerryError('INVALID_CONFIG', `dataset "${d.key}" has a versioning schedule but no primaryKey`, { path: [...basePath, i, 'primaryKey'] });
  });
}

/**
 * Runs due schedules. The durable `nextRunAt` is the tick: a scheduler takes it with a
 * compare-and-set before doing the work, so of several schedulers (processes) seeing the same
 * due schedule exactly one runs it, and a crash after the claim skips that tick instead of running
 * it twice (at most once per tick). Ticks missed while nothing ran collapse into one run.
 */
export class Scheduler {
  readonly #opts: SchedulerOptions;
  readonly #loop: PollLoop;
  readonly #now: () => Date;

  constructor(
    private readonly deps: SchedulerDeps,
    options: Partial<SchedulerOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...options };
    this.#now = deps.now ?? (() => new Date());
    this.#loop = new PollLoop(() => this.runOnce(), this.#opts.pollMs, (err) => deps.logger.error({ err: String(err) }, 'scheduler tick failed'));
  }

  /** Store the catalog's publish schedules (a changed cron takes effect; a removed one is dropped). */
  async syncCatalog(): Promise<void> {
    const { jobs, catalog } = this.deps;
    const wanted = new Set<string>();
    for (const d of catalog.list()) {
      const cron = d.versioning?.schedule;
      if (!cron) continue;
      const id = versionScheduleId(d.key);
      wanted.add(id);
      const parsed = parseCron(cron, ['datasets', d.key, 'versioning', 'schedule']);
      await jobs.schedules.upsert({ id, kind: 'version', accountId: null, name: `publish ${d.key}`, datasetKey: d.key, cron: parsed.source, body: {}, nextRunAt: parsed.next(this.#now()) });
    }
    for (const s of await jobs.schedules.list({ kind: 'version' })) if (!wanted.has(s.id)) await jobs.schedules.delete(s.id);
  }

  async start(): Promise<void> {
    await this.syncCatalog();
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Claim and run the due ticks; true when one ran. */
  async runOnce(): Promise<boolean> {
    const now = this.#now();
    let ran = false;
    for (const schedule of await this.deps.jobs.schedules.listDue(now, this.#opts.batch)) {
      let next: Date;
      try {
        next = parseCron(schedule.cron).next(now);
      } catch (err) {
        this.deps.logger.error({ schedule: schedule.id, err: String(err) }, 'schedule has a bad cron; skipped');
        continue;
      }
      if (!(await this.deps.jobs.schedules.claimTick(schedule.id, schedule.nextRunAt, next, now))) continue;
      ran = true;
      await this.#run(schedule).catch((err: unknown) =>
        this.deps.logger.error({ schedule: schedule.id, tick: schedule.nextRunAt.toISOString(), err: err instanceof Error ? err.message : String(err) }, 'scheduled run failed'),
      );
    }
    return ran;
  }

  async #run(schedule: Schedule): Promise<void> {
    if (schedule.kind === 'version') {
      await this.deps.publish(schedule.datasetKey);
      return;
    }
    const saved = schedule.body as SavedExport;
    const exports = new ExportService({ ...this.deps.exports, notifier: presignedNotifier(this.deps.exports.notifier, saved.hmacSignature) });
    // The API key is not stored; the presigned notifier stands in for the only use submit makes of it.
    const { queryUUID } = await exports.submit({ id: schedule.accountId! }, '', saved.request);
    this.deps.logger.info({ schedule: schedule.id, queryUUID, tick: schedule.nextRunAt.toISOString() }, 'scheduled export queued');
    this.deps.onQueued?.();
  }
}
