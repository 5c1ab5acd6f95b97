import type { JobStore, Logger, ObjectStore } from '@ferry/core';
import { PollLoop } from './poll-loop.js';

export interface RetentionOptions {
  /** How often to look for expired exports. */
  intervalMs: number;
  /** How long the event feed keeps events. */
  eventRetentionMs: number;
}

export const DEFAULT_RETENTION_OPTIONS: RetentionOptions = { intervalMs: 60_000, eventRetentionMs: 30 * 24 * 3_600_000 };

/**
 * Deletes the files of exports whose retention ended and marks them expired (their links then
 * answer 410), and trims the event feed. Deleting first and marking second means a crash in
 * between only repeats an idempotent delete.
 */
export class RetentionSweeper {
  readonly #opts: RetentionOptions;
  readonly #loop: PollLoop;

  constructor(
    private readonly deps: { jobs: JobStore; store: ObjectStore; logger: Logger },
    options: Partial<RetentionOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_RETENTION_OPTIONS, ...options };
    this.#loop = new PollLoop(async () => (await this.sweep()) > 0, this.#opts.intervalMs, (err) =>
      this.deps.logger.error({ err: String(err) }, 'retention sweep failed'),
    );
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** One pass; returns how many exports expired (a full page means: run again). */
  async sweep(now = new Date()): Promise<number> {
    const { jobs, store, logger } = this.deps;
    const expired = await jobs.exports.listExpired(now, 100);
    for (const job of expired) {
      for (const file of [...(job.result?.files ?? []), ...(job.result?.manifest ? [job.result.manifest] : [])]) await store.delete(file.objectKey);
      await jobs.exports.markExpired(job.id);
      logger.info({ queryUUID: job.id }, 'export expired; file deleted');
    }
    await jobs.events.purge(new Date(now.getTime() - this.#opts.eventRetentionMs));
    return expired.length === 100 ? expired.length : 0;
  }
}
