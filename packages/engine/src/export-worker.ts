import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RecordBatch, Schema } from 'apache-arrow';
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
import { DEFAULT_GZIP_LEVEL } from './parallel-gzip.js';
import type { DownloadLinks } from './download-links.js';
import { eventId, fileSlug } from './ids.js';
import { completionNotice, failureNotice } from './export-notices.js';
import { recordEvents } from './outbox.js';
import { PartCutter, nextBudget, partName } from './split.js';
import { BatchSpool } from './batch-spool.js';
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
  /** Local scratch space: a split export's rows wait here while their part is written. */
  scratchDir: string;
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
  gzipLevel: DEFAULT_GZIP_LEVEL,
  pushdown: true,
  shutdownGraceMs: 10_000,
  scratchDir: tmpdir(),
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
    this.#sweepSpools().catch((err: unknown) => this.deps.logger.warn({ err: String(err) }, 'sweeping split-export spools failed'));
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
      const wakes = this.#alarm.wakes;
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
      // A full batch may mean more is waiting: look again at once while slots remain. So may a
      // poke while the claim was out (an export queued, a slot freed): the claim may have read
      // the store before it, and the alarm only wakes a sleeper.
      if ((claimed > 0 && claimed < free) || this.#alarm.wakes !== wakes) continue;
      if (this.#running) await this.#alarm.sleep(this.#opts.pollMs);
    }
  }

  #launch(job: ExportJob): Run {
    const run: Run = { job, abort: new AbortController(), done: Promise.resolve(), releasing: false };
    this.#runs.set(job.id, run);
    run.done = this.#run(run)
      // The job store failed while recording the outcome (a full disk, an outage): the lease runs
      // out and the export is claimed again, so log it rather than crash the process.
      .catch((err: unknown) => this.deps.logger.error({ queryUUID: job.id, err: isFerryError(err) ? err.message : String(err) }, 'could not record the outcome of an export attempt'))
      .finally(() => {
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
        await recordEvents(tx, [event], [completionNotice(job, result, this.deps.links)]);
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
    if (!progress.stored.includes(ref.key)) progress.stored.push(ref.key);
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
    const limits = job.split ?? {};
    const maxRows = limits.maxFileRows ?? Infinity;
    const maxBytes = limits.maxFileBytes;
    const rows = await source.open(query, { signal });
    // A byte limit may need a part written again with fewer rows: its rows wait on local disk.
    const spools = maxBytes === undefined ? null : await this.#spools(job).catch(async (err: unknown) => {
      await rows.batches[Symbol.asyncIterator]().return?.();
      throw err;
    });
    const cutter = new PartCutter(rows.batches, spools);
    const files: ExportFile[] = [];
    let budget = maxRows;
    try {
      // A zero-row export still gets one (valid, empty) file.
      while (files.length === 0 || (await cutter.hasMore())) {
        const name = partName(target.base, files.length, target.suffix);
        for (;;) {
          const attempt = await this.#writePart(job, format, rows.schema, cutter.part(budget), name, target.contentType, maxBytes, progress, signal);
          if (maxBytes === undefined || attempt.fits) {
            files.push(attempt.file!);
            await cutter.commit();
            // The next part is offered as many rows as this one's density says will fit.
            if (maxBytes !== undefined && attempt.rows === budget) budget = nextBudget(attempt, maxBytes, maxRows);
            break;
          }
          if (attempt.rows <= 1) {
            throw new FerryError('LIMIT_EXCEEDED', `a single row takes more than maxFileBytes (${maxBytes} bytes) in ${job.format}: raise maxFileBytes`, { path: ['maxFileBytes'] });
          }
          budget = nextBudget(attempt, maxBytes, maxRows);
          cutter.rewind();
        }
      }
    } finally {
      await cutter.close();
      for (const spool of spools ?? []) await spool.close();
    }
    return files;
  }

  /**
   * One attempt at a part: at most the rows `batches` gives, encoded, compressed and stored. With a
   * byte limit, the attempt stops as soon as the stored bytes pass it, and a part that ends up past
   * it is not kept: `fits` is false, and the caller writes the part again with fewer rows (the same
   * key, so the retry replaces it). No part bigger than the limit is ever reported.
   */
  async #writePart(
    job: ExportJob,
    format: FormatWriter,
    schema: Schema,
    batches: AsyncIterable<RecordBatch>,
    fileName: string,
    contentType: string,
    maxBytes: number | undefined,
    progress: { rows: number; bytes: number; stored: string[] },
    signal: AbortSignal,
  ): Promise<{ file: ExportFile | null; rows: number; bytes: number; fits: boolean }> {
    let rows = 0;
    let bytes = 0;
    const tooLarge = new AbortController();
    const partSignal = AbortSignal.any([signal, tooLarge.signal]);
    const counted = countRows(batches, (n) => {
      rows += n;
      progress.rows += n;
    });
    const undo = (): void => {
      progress.rows -= rows;
      progress.bytes -= bytes;
    };
    try {
      const file = await this.#store(job, fileName, contentType, format.write(schema, counted, { signal: partSignal }), progress, partSignal, (n) => {
        bytes += n;
        if (maxBytes !== undefined && bytes > maxBytes) tooLarge.abort(new FerryError('ABORTED', 'the part passed maxFileBytes'));
      });
      const fits = maxBytes === undefined || file.bytes <= maxBytes;
      if (!fits) undo();
      return { file: { ...file, rows }, rows, bytes: file.bytes, fits };
    } catch (err) {
      if (!tooLarge.signal.aborted || signal.aborted) throw err;
      undo();
      return { file: null, rows, bytes, fits: false };
    }
  }

  /** Where a split export keeps the rows of the part being written: two files per export and attempt. */
  async #spools(job: ExportJob): Promise<[BatchSpool, BatchSpool]> {
    const dir = this.#opts.scratchDir;
    await mkdir(dir, { recursive: true });
    // Spools of this export's earlier attempts are leftovers: their worker died or lost the lease.
    for (const name of await readdir(dir)) {
      const earlier = spoolAttempt(name, job.id);
      if (earlier !== null && earlier < job.attempts) await rm(join(dir, name), { force: true });
    }
    const a = await BatchSpool.create(join(dir, spoolName(job.id, job.attempts, 'a')));
    const b = await BatchSpool.create(join(dir, spoolName(job.id, job.attempts, 'b'))).catch(async (err: unknown) => {
      await a.close();
      throw err;
    });
    return [a, b];
  }

  /**
   * Remove the spools of attempts that are over (what a killed worker left). A spool of an export
   * this job store does not know belongs to another install sharing the directory: left alone.
   */
  async #sweepSpools(): Promise<void> {
    const dir = this.#opts.scratchDir;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const match = SPOOL_NAME.exec(name);
      if (!match) continue;
      const job = await this.deps.jobs.exports.get(match[1]!);
      if (job && (job.state !== 'running' || job.attempts > Number(match[2]))) await rm(join(dir, name), { force: true });
    }
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
    const permanent = isPermanent(err);
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
      const notice = job.notifyOnFailure ? [failureNotice(job, reason, at)] : [];
      await recordEvents(tx, [exportEvent('export.failed', job, { at, failedReason: reason, id: eventId(`${job.id}\0export.failed`) })], notice);
      return true;
    });
    if (failed) {
      this.counters.failed++;
      this.#metrics.exportEnded({ format: job.format, outcome: 'failed', seconds: elapsedSeconds(job), rows: 0, bytes: 0 });
      logger.error({ queryUUID: job.id, attempt: job.attempts, reason }, 'export failed');
    }
  }
}

/**
 * Failures the same export meets again on every attempt: input errors (4xx), and queries the
 * source says cannot succeed (QUERY_FAILED with `retryable: false`: a missing column, a type
 * error, a missing role). Everything else (a source or store outage, a full disk) may pass.
 */
export function isPermanent(err: unknown): boolean {
  if (!isFerryError(err)) return false;
  if (err.code === 'QUERY_FAILED') return !err.retryable;
  return err.status < 500 && err.code !== 'ABORTED';
}

const SPOOL_NAME = /^ferry-split-([0-9a-f-]{36})-(\d+)\.[ab]\.spool$/;

function spoolName(exportId: string, attempt: number, which: 'a' | 'b'): string {
  return `ferry-split-${exportId}-${attempt}.${which}.spool`;
}

/** The attempt of a spool file of export `exportId`; null for any other file. */
function spoolAttempt(name: string, exportId: string): number | null {
  const match = SPOOL_NAME.exec(name);
  return match && match[1] === exportId ? Number(match[2]) : null;
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
