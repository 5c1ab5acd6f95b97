import { randomUUID } from 'node:crypto';
import {
  ExportListRequest,
  ExportRequest,
  FerryError,
  parseOrThrow,
  resolveQuery,
  type Account,
  type Catalog,
  type ExportJob,
  type JobStore,
  type WebhookSecurity,
} from '@ferry/core';
import type { DownloadLinks } from './download-links.js';
import { exportEvent } from './events.js';
import { chooseOutput, type Formats } from './output-format.js';
import { ensureImplicitEndpoint } from './endpoint-rules.js';
import { failureNotice } from './export-notices.js';
import { unknownCursor } from './pages.js';
import { recordEvents } from './outbox.js';
import type { SubmitRateLimiter } from './submit-limits.js';

/** One export in `GET /dataset/export`. */
export interface ExportSummary {
  queryUUID: string;
  name: string;
  format: string;
  dataset: string;
  state: ExportJob['state'];
  requestedOn: string;
  startedOn: string | null;
  completedOn: string | null;
  attempts: number;
  progress: { rows: number; bytes: number };
  numberRows: number | null;
  error: string | null;
}

function summary(job: ExportJob): ExportSummary {
  return {
    queryUUID: job.id,
    name: job.name,
    format: job.format,
    dataset: job.datasetKey,
    state: job.state,
    requestedOn: job.requestedAt.toISOString(),
    startedOn: job.startedAt?.toISOString() ?? null,
    completedOn: job.state === 'completed' || job.state === 'expired' ? (job.finishedAt?.toISOString() ?? null) : null,
    attempts: job.attempts,
    progress: { rows: job.progressRows, bytes: job.progressBytes },
    numberRows: job.result?.numberRows ?? null,
    error: job.error,
  };
}

/** What `GET /dataset/export/:queryUUID` answers: the summary, plus files, links and webhook deliveries. */
export interface ExportStatus extends ExportSummary {
  download: { url: string; expires: string; fileName: string; bytes: number; sha256: string; downloads: number } | null;
  /** Every stored file with its link (one unless the export was split), and the manifest of a split export. */
  files: Array<{ url: string; fileName: string; rows: number; bytes: number; sha256: string }>;
  manifestUrl: string | null;
  /** `source`: the database encoded the file (pushdown); `ferry`: the Arrow path did. */
  encodedBy: 'source' | 'ferry' | null;
  webhook: { endpointId: string; deliveries: Array<{ id: string; webhookId: string; event: string; state: string; attempts: number; lastStatus: number | null; lastError: string | null }> };
}

export interface ExportServiceDeps {
  jobs: JobStore;
  /** Per-account submit rate and queue cap; none when absent (saved schedules submit without them). */
  limits?: { rate: SubmitRateLimiter; maxQueued: number };
  catalog: Catalog;
  /** Webhook targets, the seed signature and endpoint secrets: the webhook notifier's rules. */
  notifier: WebhookSecurity;
  links: DownloadLinks;
  /** The formats this deployment offers (its configured format slots). */
  formats: Formats;
}

export interface SubmitResult {
  queryUUID: string;
  /** For a non-seed signing scheme: the endpoint secret the receiver verifies with. */
  webhookSecret?: string;
}

/** The synchronous half of an export: authenticate, validate, enqueue, report status. */
export class ExportService {
  constructor(private readonly deps: ExportServiceDeps) {}

  /** Validate and queue, with its export.requested event, in one transaction. Every input mistake is a FerryError with the field's path. */
  async submit(account: Account, apiKey: string, body: unknown): Promise<SubmitResult> {
    const { jobs, notifier } = this.deps;
    const request = parseOrThrow(ExportRequest, body);
    await this.#checkLimits(account);
    const { compression } = chooseOutput(this.deps.formats, request.format, request.compression, { format: ['format'], compression: ['compression'] });
    const resolved = resolveQuery(this.deps.catalog, request.dataset, ['dataset']);
    await notifier.validateTarget(request.webhookURL, ['webhookURL']);
    const scheme = request.webhookScheme ?? 'ferry-hmac';
    const endpoint = await ensureImplicitEndpoint(jobs, account.id, request.webhookURL, scheme, () =>
      scheme === 'ferry-hmac' ? null : notifier.createSecret(scheme),
    );
    // The webhook echoes the query as the client sent it, and the seed handlers verify
    // JSON.stringify(payload) of what they receive, so sign the submitted JSON, not our parsed copy.
    const submitted = (body as { dataset: unknown }).dataset;
    const job = {
      id: randomUUID(),
      accountId: account.id,
      name: request.name,
      format: request.format,
      compression,
      webhookUrl: request.webhookURL,
      endpointId: endpoint.id,
      datasetKey: resolved.dataset.key,
      query: submitted,
      hmacSignature: notifier.signPayload(apiKey, submitted),
      requestedAt: new Date(),
      notifyOnFailure: request.notifyOnFailure ?? false,
      split:
        request.maxFileRows !== undefined || request.maxFileBytes !== undefined
          ? { ...(request.maxFileRows ? { maxFileRows: request.maxFileRows } : {}), ...(request.maxFileBytes ? { maxFileBytes: request.maxFileBytes } : {}) }
          : null,
    };
    await jobs.transaction(async (tx) => {
      await tx.exports.insert(job);
      await recordEvents(tx, [exportEvent('export.requested', { ...job, startedAt: null, finishedAt: null }, { at: job.requestedAt })]);
    });
    const secret = endpoint.secrets[0]?.value;
    return { queryUUID: job.id, ...(secret ? { webhookSecret: secret } : {}) };
  }

  async #checkLimits(account: Account): Promise<void> {
    const { limits } = this.deps;
    if (!limits) return;
    limits.rate.take(account.id);
    const counts = await this.deps.jobs.exports.countByState(account.id);
    if (counts.queued + counts.running >= limits.maxQueued) {
      throw new FerryError('TOO_MANY_QUEUED', `this account has ${counts.queued + counts.running} exports queued or running, the most allowed (${limits.maxQueued}); wait for some to finish`, {
        retryAfterSeconds: 30,
      });
    }
  }

  /** The account's exports, newest first. */
  async list(account: Account, query: unknown): Promise<{ data: ExportSummary[]; hasMore: boolean }> {
    const q = parseOrThrow(ExportListRequest, query, { basePath: ['query'] });
    if (q.starting_after && (await this.deps.jobs.exports.get(q.starting_after))?.accountId !== account.id) throw unknownCursor(q.starting_after);
    const jobs = await this.deps.jobs.exports.list(account.id, {
      limit: q.limit,
      ...(q.state ? { state: q.state } : {}),
      ...(q.starting_after ? { startingAfter: q.starting_after } : {}),
    });
    return { data: jobs.map(summary), hasMore: jobs.length === q.limit };
  }

  /** An export of this account, or NOT_FOUND: another account's export is indistinguishable from a missing one. */
  async find(account: Account, id: string): Promise<ExportJob> {
    const job = await this.deps.jobs.exports.get(id);
    if (!job || job.accountId !== account.id) throw new FerryError('NOT_FOUND', `no export ${id}`);
    return job;
  }

  /**
   * Stop a queued or running export: it fails with its event (and its failure notice when the
   * export asked for one); its partial output is removed by the worker that held it.
   */
  async cancel(account: Account, id: string): Promise<ExportStatus> {
    const job = await this.find(account, id);
    const reason = 'cancelled by request';
    const at = new Date();
    const cancelled = await this.deps.jobs.transaction(async (tx) => {
      if (!(await tx.exports.fail(id, null, reason))) return false;
      if (job.notifyOnFailure) await tx.deliveries.insert([failureNotice(job, reason, at)]);
      await recordEvents(tx, [exportEvent('export.failed', job, { at, failedReason: reason })]);
      return true;
    });
    if (!cancelled) throw new FerryError('CONFLICT', `export ${id} has already ${job.state === 'completed' ? 'completed' : 'ended'}; nothing to cancel`);
    return this.status(account, id);
  }

  async status(account: Account, id: string): Promise<ExportStatus> {
    const job = await this.find(account, id);
    const deliveries = await this.deps.jobs.deliveries.list(account.id, { exportId: job.id, endpointId: job.endpointId, limit: 1000 });
    const r = job.result;
    return {
      ...summary(job),
      download: r && {
        url: this.deps.links.url({ exportId: job.id, expiresAt: r.expiresAt }),
        expires: r.expiresAt.toISOString(),
        fileName: r.files[0]!.fileName,
        bytes: r.files[0]!.bytes,
        sha256: r.files[0]!.sha256,
        downloads: job.downloads,
      },
      files: (r?.files ?? []).map((f, i) => ({
        url: this.deps.links.url({ exportId: job.id, expiresAt: r!.expiresAt, file: i }),
        fileName: f.fileName,
        rows: f.rows,
        bytes: f.bytes,
        sha256: f.sha256,
      })),
      manifestUrl: r?.manifest ? this.deps.links.url({ exportId: job.id, expiresAt: r.expiresAt, file: 'manifest' }) : null,
      encodedBy: r ? (r.pushdown ? 'source' : 'ferry') : null,
      webhook: {
        endpointId: job.endpointId,
        deliveries: deliveries.map((d) => ({ id: d.id, webhookId: d.messageId, event: d.eventType, state: d.state, attempts: d.attempts, lastStatus: d.lastStatus, lastError: d.lastError })),
      },
    };
  }
}
