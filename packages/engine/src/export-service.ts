import { randomUUID } from 'node:crypto';
import {
  ExportRequest,
  FerryError,
  parseOrThrow,
  resolveQuery,
  type Account,
  type Catalog,
  type ExportJob,
  type JobStore,
  type Notifier,
} from '@ferry/core';
import { hashApiKey } from './api-keys.js';
import type { DownloadLinks } from './download-links.js';

/** What `GET /dataset/export/:queryUUID` answers. */
export interface ExportStatus {
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
  download: { url: string; expires: string; fileName: string; bytes: number; sha256: string; downloads: number } | null;
  error: string | null;
}

export interface ExportServiceDeps {
  jobs: JobStore;
  catalog: Catalog;
  notifier: Notifier;
  links: DownloadLinks;
}

/** The synchronous half of an export: authenticate, validate, enqueue, report status. */
export class ExportService {
  constructor(private readonly deps: ExportServiceDeps) {}

  async authenticate(apiKey: string | undefined): Promise<Account> {
    const account = apiKey ? await this.deps.jobs.findAccountByKeyHash(hashApiKey(apiKey)) : null;
    if (!account) throw new FerryError('UNAUTHORIZED', 'missing or unknown API key (send it in the x-api-key header)');
    return account;
  }

  /** Validate and queue. Returns the queryUUID. Every input mistake is a FerryError with the field's path. */
  async submit(account: Account, apiKey: string, body: unknown): Promise<string> {
    const request = parseOrThrow(ExportRequest, body);
    const resolved = resolveQuery(this.deps.catalog, request.dataset, ['dataset']);
    await this.deps.notifier.validateTarget(request.webhookURL, ['webhookURL']);
    // The webhook echoes the query as the client sent it, and the seed handlers verify
    // JSON.stringify(payload) of what they receive, so sign the submitted JSON, not our parsed copy.
    const submitted = (body as { dataset: unknown }).dataset;
    const id = randomUUID();
    await this.deps.jobs.enqueueExport({
      id,
      accountId: account.id,
      name: request.name,
      format: request.format,
      webhookUrl: request.webhookURL,
      datasetKey: resolved.dataset.key,
      query: submitted,
      hmacSignature: this.deps.notifier.signPayload(apiKey, submitted),
      requestedAt: new Date(),
    });
    return id;
  }

  async status(account: Account, id: string): Promise<ExportStatus> {
    const job = await this.deps.jobs.getExport(id);
    // Another account's export is indistinguishable from a missing one.
    if (!job || job.accountId !== account.id) throw new FerryError('NOT_FOUND', `no export ${id}`);
    const r = job.result;
    return {
      queryUUID: job.id,
      name: job.name,
      format: job.format,
      dataset: job.datasetKey,
      state: job.state,
      requestedOn: job.requestedAt.toISOString(),
      startedOn: job.startedAt?.toISOString() ?? null,
      completedOn: job.state === 'completed' ? (job.finishedAt?.toISOString() ?? null) : null,
      attempts: job.attempts,
      progress: { rows: job.progressRows, bytes: job.progressBytes },
      numberRows: r?.numberRows ?? null,
      download: r && {
        url: this.deps.links.url({ exportId: job.id, expiresAt: r.expiresAt }),
        expires: r.expiresAt.toISOString(),
        fileName: r.fileName,
        bytes: r.bytes,
        sha256: r.sha256,
        downloads: job.downloads,
      },
      error: job.error,
    };
  }
}
