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
  type NewDelivery,
  type QuerySource,
  type ResolvedQuery,
  type WebhookPayload,
} from '@ferry/core';
import { COMPRESSION_MEDIA, compress } from './compression.js';
import type { DownloadLinks } from './download-links.js';
import { deliveryId, eventId, fileSlug } from './ids.js';
import { PartCutter, partName } from './split.js';
import { exportEvent } from './events.js';
import { PollLoop } from './poll-loop.js';

export interface ExportWorkerDeps {
  jobs: JobStore;
  catalog: Catalog;
  sources: ReadonlyMap<string, QuerySource>;
  formats: ReadonlyMap<string, FormatWriter>;
  store: ObjectStore;
  links: DownloadLinks;
  logger: Logger;
}

export interface ExportWorkerOptions {
  /** Lease on a claimed job; a worker that dies is replaced once it runs out. */
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
  /** On stop, how long a running export may take to finish before it is released. */
  shutdownGraceMs: number;
}

export const DEFAULT_EXPORT_WORKER_OPTIONS: ExportWorkerOptions = {
  leaseMs: 60_000,
  heartbeatMs: 2_000,
  pollMs: 250,
  maxAttempts: 3,
  retentionMs: 30 * 24 * 3_600_000,
  gzipLevel: 6,
  pushdown: true,
  shutdownGraceMs: 10_000,
};

const RETRY_BASE_MS = 5_000;

/** Claims queued exports and turns each into a stored file plus a queued completion webhook. */
export class ExportWorker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly #opts: ExportWorkerOptions;
  readonly #loop: PollLoop;
  #current: { job: ExportJob; abort: AbortController; done: Promise<void> } | undefined;
  #releasing = false;

  constructor(
    private readonly deps: ExportWorkerDeps,
    options: Partial<ExportWorkerOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_EXPORT_WORKER_OPTIONS, ...options };
    this.#loop = new PollLoop(() => this.runOnce(), this.#opts.pollMs, (err) =>
      this.deps.logger.error({ err: String(err) }, 'export worker tick failed'),
    );
  }

  start(): void {
    this.#loop.start();
  }

  poke(): void {
    this.#loop.poke();
  }

  /** Stop claiming; let the running export finish within the grace period, else abort and release it. */
  async stop(): Promise<void> {
    const stopping = this.#loop.stop();
    const current = this.#current;
    if (current) {
      const finished = await Promise.race([
        current.done.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), this.#opts.shutdownGraceMs).unref()),
      ]);
      if (!finished) {
        this.#releasing = true;
        current.abort.abort(new FerryError('ABORTED', 'worker shutting down'));
        await current.done;
      }
    }
    await stopping;
  }

  /** Claim and run one export. True when there was one. */
  async runOnce(): Promise<boolean> {
    const job = await this.deps.jobs.claimExport(this.id, this.#opts.leaseMs);
    if (!job) return false;
    const abort = new AbortController();
    const done = this.#run(job, abort);
    this.#current = { job, abort, done };
    try {
      await done;
    } finally {
      this.#current = undefined;
    }
    return true;
  }

  async #run(job: ExportJob, abort: AbortController): Promise<void> {
    const { jobs, logger } = this.deps;
    const progress = { rows: 0, bytes: 0, stored: [] as string[] };
    const heartbeat = setInterval(() => {
      jobs
        .heartbeatExport(job.id, this.id, this.#opts.leaseMs, progress)
        .then((held) => {
          if (!held) abort.abort(new FerryError('ABORTED', 'lease lost'));
        })
        .catch((err: unknown) => logger.warn({ queryUUID: job.id, err: String(err) }, 'heartbeat failed'));
    }, this.#opts.heartbeatMs);
    try {
      const result = await this.#produce(job, progress, abort.signal);
      const event = exportEvent('export.completed', { ...job, finishedAt: result.finishedAt }, {
        at: result.finishedAt,
        id: eventId(`${job.id}\0export.completed`),
      });
      const completed = await jobs.completeExport(job.id, this.id, result, [await this.#completionDelivery(job, result)], [event]);
      if (completed) {
        logger.info({ queryUUID: job.id, rows: result.numberRows, bytes: result.bytes, ms: result.timeTakenMs, pushdown: result.pushdown }, 'export completed');
      } else {
        await this.#removeIfEnded(job.id, progress.stored);
      }
    } catch (err) {
      await this.#handleFailure(job, err);
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
    const state = (await this.deps.jobs.getExport(id))?.state;
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

  /** The seed 001 payload, field for field, to the export's endpoint. */
  async #completionDelivery(job: ExportJob, result: ExportResult): Promise<NewDelivery> {
    const payload: WebhookPayload = {
      queryUUID: job.id,
      name: job.name,
      format: job.format,
      payload: job.query,
      hmacSignature: job.hmacSignature,
      gcsBlob: {
        url: this.deps.links.url({ exportId: job.id, expiresAt: result.expiresAt }),
        expires: result.expiresAt.toISOString(),
        timeTakenMs: result.timeTakenMs,
        numberRows: result.numberRows,
      },
      requestedOn: job.requestedAt.toISOString(),
      completedOn: result.finishedAt.toISOString(),
    };
    // One file: exactly the seed payload. Parts: the same, plus every file's link and the manifest.
    const body =
      result.files.length === 1
        ? payload
        : {
            ...payload,
            files: result.files.map((f, i) => ({
              url: this.deps.links.url({ exportId: job.id, expiresAt: result.expiresAt, file: i }),
              name: f.fileName,
              rows: f.rows,
              bytes: f.bytes,
              sha256: f.sha256,
            })),
            manifestUrl: this.deps.links.url({ exportId: job.id, expiresAt: result.expiresAt, file: 'manifest' }),
          };
    return this.#toEndpoint(job, 'export.completed', JSON.stringify(body));
  }

  /** A message to the export's own webhook URL. The seed scheme's header always travels with it. */
  #toEndpoint(job: ExportJob, eventType: string, body: string): NewDelivery {
    const id = deliveryId(job.id, eventType);
    return {
      id,
      accountId: job.accountId,
      endpointId: job.endpointId,
      messageId: id,
      exportId: job.id,
      eventType,
      body,
      headers: { 'SHA256-HMAC-Signature': job.hmacSignature },
    };
  }

  /** Opt-in failure notice to the export's webhook URL (not part of the seeds: they stay silent on failure). */
  #failureDelivery(job: ExportJob, reason: string): NewDelivery {
    const body = {
      queryUUID: job.id,
      name: job.name,
      format: job.format,
      payload: job.query,
      hmacSignature: job.hmacSignature,
      error: { reason },
      requestedOn: job.requestedAt.toISOString(),
      failedOn: new Date().toISOString(),
    };
    return this.#toEndpoint(job, 'export.failed', JSON.stringify(body));
  }

  async #handleFailure(job: ExportJob, err: unknown): Promise<void> {
    const { jobs, logger } = this.deps;
    if (this.#releasing) {
      await jobs.releaseExport(job.id, this.id);
      logger.info({ queryUUID: job.id }, 'export released for another worker');
      return;
    }
    const reason = isFerryError(err) ? err.message : err instanceof Error ? err.message : String(err);
    // Input errors will fail again; everything else (a source or store outage) may not.
    const permanent = isFerryError(err) && err.status < 500 && err.code !== 'ABORTED';
    if (!permanent && job.attempts < this.#opts.maxAttempts) {
      const delay = RETRY_BASE_MS * 2 ** (job.attempts - 1) * (0.8 + Math.random() * 0.4);
      await jobs.failExport(job.id, this.id, reason, { retryAt: new Date(Date.now() + delay) });
      logger.warn({ queryUUID: job.id, attempt: job.attempts, reason }, 'export attempt failed; will retry');
      return;
    }
    const events = [exportEvent('export.failed', job, { failedReason: reason, id: eventId(`${job.id}\0export.failed`) })];
    await jobs.failExport(job.id, this.id, reason, { events, deliveries: job.notifyOnFailure ? [this.#failureDelivery(job, reason)] : [] });
    logger.error({ queryUUID: job.id, attempt: job.attempts, reason }, 'export failed');
  }
}

async function* countRows(batches: AsyncIterable<RecordBatch>, add: (n: number) => void): AsyncIterable<RecordBatch> {
  for await (const batch of batches) {
    add(batch.numRows);
    yield batch;
  }
}
