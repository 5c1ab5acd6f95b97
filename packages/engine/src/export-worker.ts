import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import {
  DatasetQuery,
  FerryError,
  isFerryError,
  parseOrThrow,
  resolveQuery,
  tapBytes,
  type Catalog,
  type ExportJob,
  type ExportFile,
  type ExportResult,
  type FormatWriter,
  type JobStore,
  type Logger,
  type ObjectStore,
  type QuerySource,
  type ResolvedQuery,
} from '@ferry/core';
import { COMPRESSION_MEDIA, compress } from './compression.js';
import type { DownloadLinks } from './download-links.js';
import { eventId, fileSlug } from './ids.js';
import { completionNotice, failureNotice } from './export-notices.js';
import { recordEvents } from './outbox.js';
import { PartCutter, partName } from './split.js';
import { exportEvent } from './events.js';
import { Alarm } from './poll-loop.js';
import { NO_METRICS, type EngineMetrics } from './metrics.js';

export interface ExportWorkerDeps {
  jobs: JobStore;
  catalog: Catalog;
  sources: ReadonlyMap<string, QuerySource>;
  formats: ReadonlyMap<string, FormatWriter>;
  store: ObjectStore;
  links: DownloadLinks;
  logger: Logger;
  metrics?: EngineMetrics;
}

export interface ExportWorkerOptions {
  /** Exports this worker runs at once. */
  concurrency: number;
  /** Most exports of one account running at once across all workers; null for no cap beyond fair ordering. */
  maxRunningPerAccount: number | null;
  /** Lease on a claimed job, renewed by heartbeats; a worker that dies is replaced once it runs out. */
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  /** Attempts per export before it fails for good. */
  maxAttempts: number;
  /** How long a finished export stays downloadable. */
  retentionMs: number;
  gzipLevel: number;
  /** Let sources encode csv/jsonl themselves when their bytes match the writer's. */
  pushdown: boolean;
  /** On stop, how long running exports may take to finish before they are released. */
  shutdownGraceMs: number;
}

export const DEFAULT_EXPORT_WORKER_OPTIONS: ExportWorkerOptions = {
  concurrency: 2,
  maxRunningPerAccount: null,
  // Short leases with frequent heartbeats: a killed worker's exports come back within seconds.
  leaseMs: 10_000,
  heartbeatMs: 2_000,
  pollMs: 250,
  maxAttempts: 3,
  retentionMs: 30 * 24 * 3_600_000,
  gzipLevel: 6,
  pushdown: true,
  shutdownGraceMs: 10_000,
};

const RETRY_BASE_MS = 5_000;
/** What the store takes for "no cap": more than any worker fleet runs. */
const NO_ACCOUNT_CAP = 2 ** 31 - 1;

export interface ExportWorkerCounters {
  completed: number;
  failed: number;
  retried: number;
  released: number;
  leasesLost: number;
}

interface Run {
  job: ExportJob;
  abort: AbortController;
  done: Promise<void>;
  /** Set on shutdown: the abort that follows gives the export back instead of failing it. */
  releasing: boolean;
}

/** Claims queued exports, several at once, and turns each into stored files plus a queued completion webhook. */
export class ExportWorker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly counters: ExportWorkerCounters = { completed: 0, failed: 0, retried: 0, released: 0, leasesLost: 0 };
  readonly #opts: ExportWorkerOptions;
  readonly #runs = new Map<string, Run>();
  readonly #alarm = new Alarm();
  #running = false;
  #pumping: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly deps: ExportWorkerDeps,
    options: Partial<ExportWorkerOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_EXPORT_WORKER_OPTIONS, ...options };
  }

  get #metrics(): EngineMetrics {
    return this.deps.metrics ?? NO_METRICS;
  }

  /** Exports running in this worker now. */
  get running(): number {
    return this.#runs.size;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.deps.jobs.onWork?.('exports', () => this.poke());
    this.#pumping = this.#pump();
  }

  /** Look for queued exports now rather than at the next poll. */
  poke(): void {
    this.#alarm.wake();
  }

  /** Stop claiming; let running exports finish within the grace period, else abort and release them. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.poke();
    await this.#pumping;
    const runs = [...this.#runs.values()];
    if (runs.length === 0) return;
    const all = Promise.all(runs.map((r) => r.done));
    const finished = await Promise.race([
      all.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), this.#opts.shutdownGraceMs).unref()),
    ]);
    if (!finished) {
      for (const run of this.#runs.values()) {
        run.releasing = true;
        run.abort.abort(new FerryError('ABORTED', 'worker shutting down'));
      }
      await all;
    }
  }

  /** Claim and run one export to its end. True when there was one. */
  async runOnce(): Promise<boolean> {
    const [job] = await this.#claim(1);
    if (!job) return false;
    await this.#launch(job).done;
    return true;
  }

  async #claim(limit: number): Promise<ExportJob[]> {
    return this.deps.jobs.exports.claim(this.id, {
      limit,
      leaseMs: this.#opts.leaseMs,
      maxRunningPerAccount: this.#opts.maxRunningPerAccount ?? NO_ACCOUNT_CAP,
    });
  }

  /** Keeps up to `concurrency` exports running; sleeps until a slot frees, new work is announced, or the poll interval passes. */
  async #pump(): Promise<void> {
    while (this.#running) {
      const free = this.#opts.concurrency - this.#runs.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const jobs = await this.#claim(free);
          for (const job of jobs) this.#launch(job);
          claimed = jobs.length;
        } catch (err) {
          this.deps.logger.error({ err: String(err) }, 'claiming exports failed');
        }
      }
      // A full batch may mean more is waiting: look again at once while slots remain.
      if (claimed > 0 && claimed < free) continue;
      if (this.#running) await this.#alarm.sleep(this.#opts.pollMs);
    }
  }

  #launch(job: ExportJob): Run {
    const run: Run = { job, abort: new AbortController(), done: Promise.resolve(), releasing: false };
    this.#runs.set(job.id, run);
    run.done = this.#run(run).finally(() => {
      this.#runs.delete(job.id);
      this.poke();
    });
    return run;
  }

  async #run(run: Run): Promise<void> {
    const { job, abort } = run;
    const { jobs, logger } = this.deps;
    const progress = { rows: 0, bytes: 0, stored: [] as string[] };
    const heartbeat = setInterval(() => {
      jobs.exports
        .heartbeat(job.id, this.id, this.#opts.leaseMs, progress)
        .then((held) => {
          if (held || abort.signal.aborted) return;
          this.counters.leasesLost++;
          this.#metrics.leaseLost('export');
          abort.abort(new FerryError('ABORTED', 'lease lost'));
        })
        .catch((err: unknown) => logger.warn({ queryUUID: job.id, err: String(err) }, 'heartbeat failed'));
    }, this.#opts.heartbeatMs);
    try {
      const result = await this.#produce(job, progress, abort.signal);
      const event = exportEvent('export.completed', { ...job, finishedAt: result.finishedAt }, {
        at: result.finishedAt,
        id: eventId(`${job.id}\0export.completed`),
      });
      const completed = await jobs.transaction(async (tx) => {
        if (!(await tx.exports.complete(job.id, this.id, result))) return false;
        await tx.deliveries.insert([completionNotice(job, result, this.deps.links)]);
        await recordEvents(tx, [event]);
        return true;
      });
      if (completed) {
        this.counters.completed++;
        this.#metrics.exportEnded({ format: job.format, outcome: 'completed', seconds: elapsedSeconds(job), rows: result.numberRows, bytes: result.bytes });
        logger.info({ queryUUID: job.id, rows: result.numberRows, bytes: result.bytes, ms: result.timeTakenMs, pushdown: result.pushdown }, 'export completed');
      } else {
        await this.#removeIfEnded(job.id, progress.stored);
      }
    } catch (err) {
      await this.#handleFailure(run, err);
      await this.#removeIfEnded(job.id, progress.stored);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Files written by an attempt that did not complete are removed once the export has ended
   * (failed for good or cancelled). While it is queued or running elsewhere they are left alone:
   * the next attempt writes the same keys.
   */
  async #removeIfEnded(id: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const state = (await this.deps.jobs.exports.get(id))?.state;
    if (state !== 'failed') return;
    for (const key of keys) {
      await this.deps.store.delete(key).catch((err: unknown) => this.deps.logger.warn({ queryUUID: id, err: String(err) }, 'could not remove a partial file'));
    }
  }

  async #produce(job: ExportJob, progress: { rows: number; bytes: number; stored: string[] }, signal: AbortSignal): Promise<ExportResult> {
    const { catalog, sources, formats } = this.deps;
    const query = parseOrThrow(DatasetQuery, job.query);
    const resolved = resolveQuery(catalog, query);
    const source = sources.get(resolved.dataset.source);
    if (!source) throw new FerryError('INVALID_CONFIG', `dataset "${resolved.dataset.key}" names source "${resolved.dataset.source}", which is not configured`);
    const format = formats.get(job.format);
    if (!format) throw new FerryError('INVALID_CONFIG', `format "${job.format}" is not configured`);

    const packed = job.compression === 'none' ? null : COMPRESSION_MEDIA[job.compression];
    const target = {
      base: fileSlug(job.name),
      suffix: `${format.extension}${packed ? `.${packed.extension}` : ''}`,
      contentType: packed?.mediaType ?? format.mediaType,
    };
    let pushdown = false;
    let files: ExportFile[];
    if (job.split) {
      files = await this.#writeParts(job, source, format, resolved, target, progress, signal);
    } else {
      const encoded = await this.#encode(source, format, resolved, progress, signal);
      pushdown = encoded.pushdown;
      const file = await this.#store(job, `${target.base}.${target.suffix}`, target.contentType, encoded.bytes, progress, signal);
      files = [{ ...file, rows: await encoded.rows() }];
    }
    progress.rows = files.reduce((n, f) => n + f.rows, 0);
    const manifest = files.length > 1 ? await this.#writeManifest(job, target.base, files, signal) : null;
    if (manifest) progress.stored.push(manifest.objectKey);
    const finishedAt = new Date();
    return {
      files,
      manifest,
      numberRows: progress.rows,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      timeTakenMs: finishedAt.getTime() - job.requestedAt.getTime(),
      finishedAt,
      expiresAt: new Date(finishedAt.getTime() + this.#opts.retentionMs),
      pushdown,
    };
  }

  /** Compress and store one file; its rows are filled in by the caller, who counted them. */
  async #store(
    job: ExportJob,
    fileName: string,
    contentType: string,
    bytes: AsyncIterable<Uint8Array>,
    progress: { bytes: number; stored: string[] },
    signal: AbortSignal,
    onStored: (n: number) => void = () => {},
  ): Promise<Omit<ExportFile, 'rows'>> {
    const body = compress(bytes, job.compression, { level: this.#opts.gzipLevel, signal });
    const counted = tapBytes(body, (c) => {
      progress.bytes += c.byteLength;
      onStored(c.byteLength);
    });
    const ref = await this.deps.store.put(`${job.id}/${fileName}`, counted, { contentType, signal });
    progress.stored.push(ref.key);
    return { objectKey: ref.key, fileName, contentType, bytes: ref.size, sha256: ref.sha256 };
  }

  /** A split export: numbered parts, each a complete file of the format (its own header or footer). */
  async #writeParts(
    job: ExportJob,
    source: QuerySource,
    format: FormatWriter,
    query: ResolvedQuery,
    target: { base: string; suffix: string; contentType: string },
    progress: { rows: number; bytes: number; stored: string[] },
    signal: AbortSignal,
  ): Promise<ExportFile[]> {
    const rows = await source.open(query, { signal });
    const cutter = new PartCutter(rows.batches, job.split ?? {});
    const files: ExportFile[] = [];
    try {
      // A zero-row export still gets one (valid, empty) file.
      while (files.length === 0 || (await cutter.hasMore())) {
        let partRows = 0;
        let partBytes = 0;
        const batches = countRows(cutter.part(() => partBytes), (n) => {
          partRows += n;
          progress.rows += n;
        });
        const name = partName(target.base, files.length, target.suffix);
        const file = await this.#store(job, name, target.contentType, format.write(rows.schema, batches, { signal }), progress, signal, (n) => (partBytes += n));
        files.push({ ...file, rows: partRows });
      }
    } finally {
      await cutter.close();
    }
    return files;
  }

  async #writeManifest(job: ExportJob, base: string, files: ExportFile[], signal: AbortSignal): Promise<ExportFile> {
    const manifest = {
      queryUUID: job.id,
      files: files.map((f) => ({ name: f.fileName, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
    };
    const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    const fileName = `${base}.manifest.json`;
    const ref = await this.deps.store.put(`${job.id}/${fileName}`, (async function* () { yield body; })(), { contentType: 'application/json', signal });
    return { objectKey: ref.key, fileName, contentType: 'application/json', rows: files.length, bytes: ref.size, sha256: ref.sha256 };
  }

  /**
   * Pushdown first: when the source can encode this format itself with the writer's exact bytes
   * (DuckDB COPY, PostgreSQL COPY TO STDOUT), stream those; otherwise Arrow batches through the writer.
   */
  async #encode(
    source: QuerySource,
    format: FormatWriter,
    query: ResolvedQuery,
    progress: { rows: number },
    signal: AbortSignal,
  ): Promise<{ bytes: AsyncIterable<Uint8Array>; rows: () => Promise<number>; pushdown: boolean }> {
    const native = this.#opts.pushdown && format.pushdown && source.exportNative ? await source.exportNative(query, format.pushdown, { signal }) : null;
    if (native) return { bytes: native.body, rows: () => native.rows, pushdown: true };
    const rows = await source.open(query, { signal });
    const counted = countRows(rows.batches, (n) => (progress.rows += n));
    return { bytes: format.write(rows.schema, counted, { signal }), rows: async () => progress.rows, pushdown: false };
  }

  async #handleFailure(run: Run, err: unknown): Promise<void> {
    const { job } = run;
    const { jobs, logger } = this.deps;
    if (run.releasing) {
      await jobs.exports.release(job.id, this.id);
      this.counters.released++;
      this.#metrics.exportEnded({ format: job.format, outcome: 'released', seconds: elapsedSeconds(job), rows: 0, bytes: 0 });
      logger.info({ queryUUID: job.id }, 'export released for another worker');
      return;
    }
    const reason = isFerryError(err) ? err.message : err instanceof Error ? err.message : String(err);
    // Input errors will fail again; everything else (a source or store outage) may not.
    const permanent = isFerryError(err) && err.status < 500 && err.code !== 'ABORTED';
    if (!permanent && job.attempts < this.#opts.maxAttempts) {
      const delay = RETRY_BASE_MS * 2 ** (job.attempts - 1) * (0.8 + Math.random() * 0.4);
      if (await jobs.exports.retryLater(job.id, this.id, reason, new Date(Date.now() + delay))) {
        this.counters.retried++;
        this.#metrics.exportEnded({ format: job.format, outcome: 'retried', seconds: elapsedSeconds(job), rows: 0, bytes: 0 });
        logger.warn({ queryUUID: job.id, attempt: job.attempts, reason }, 'export attempt failed; will retry');
      }
      return;
    }
    const at = new Date();
    const failed = await jobs.transaction(async (tx) => {
      if (!(await tx.exports.fail(job.id, this.id, reason))) return false;
      if (job.notifyOnFailure) await tx.deliveries.insert([failureNotice(job, reason, at)]);
      await recordEvents(tx, [exportEvent('export.failed', job, { at, failedReason: reason, id: eventId(`${job.id}\0export.failed`) })]);
      return true;
    });
    if (failed) {
      this.counters.failed++;
      this.#metrics.exportEnded({ format: job.format, outcome: 'failed', seconds: elapsedSeconds(job), rows: 0, bytes: 0 });
      logger.error({ queryUUID: job.id, attempt: job.attempts, reason }, 'export failed');
    }
  }
}

/** Since the attempt was claimed. */
function elapsedSeconds(job: ExportJob): number {
  return job.startedAt ? (Date.now() - job.startedAt.getTime()) / 1000 : 0;
}

async function* countRows(batches: AsyncIterable<RecordBatch>, add: (n: number) => void): AsyncIterable<RecordBatch> {
  for await (const batch of batches) {
    add(batch.numRows);
    yield batch;
  }
}
