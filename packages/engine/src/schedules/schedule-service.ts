import { randomBytes } from 'node:crypto';
import {
  ExportScheduleCreate,
  FerryError,
  parseOrThrow,
  resolveQuery,
  type Account,
  type Catalog,
  type JobStore,
  type WebhookSecurity,
  type Schedule,
} from '@ferry/core';
import { parseCron } from './cron.js';
import { chooseOutput, type Formats } from '../output-format.js';

/** What a saved export stores: the export request exactly as submitted (minus `cron`) and its seed signature. */
export interface SavedExport {
  request: Record<string, unknown>;
  hmacSignature: string;
}

function view(s: Schedule) {
  const saved = (s.body ?? {}) as Partial<SavedExport>;
  return {
    id: s.id,
    name: s.name,
    cron: s.cron,
    dataset: s.datasetKey,
    request: saved.request ?? {},
    nextRunAt: s.nextRunAt.toISOString(),
    lastRunAt: s.lastRunAt?.toISOString() ?? null,
    createdAt: s.createdAt.toISOString(),
  };
}

/** `POST/GET/DELETE /exports/schedules`: saved exports that the Scheduler submits on each cron tick. */
export class ScheduleService {
  constructor(private readonly deps: { jobs: JobStore; catalog: Catalog; notifier: WebhookSecurity; formats: Formats; now?: () => Date }) {}

  /**
   * Checked now as far as it can be (request shape, cron, query, webhook target, format); each
   * tick goes through ExportService.submit, which checks everything again against the catalog of
   * that moment.
   */
  async create(account: Account, apiKey: string, body: unknown) {
    const req = parseOrThrow(ExportScheduleCreate, body);
    const cron = parseCron(req.cron, ['cron']);
    chooseOutput(this.deps.formats, req.format, req.compression, { format: ['format'], compression: ['compression'] });
    const resolved = resolveQuery(this.deps.catalog, req.dataset, ['dataset']);
    await this.deps.notifier.validateTarget(req.webhookURL, ['webhookURL']);
    // Keep the request as the client sent it: each run's webhook echoes and signs its `dataset` JSON.
    const { cron: _cron, ...request } = body as Record<string, unknown>;
    const saved: SavedExport = { request, hmacSignature: this.deps.notifier.signPayload(apiKey, request.dataset) };
    const schedule = await this.deps.jobs.schedules.upsert({
      id: `sch_${randomBytes(12).toString('base64url')}`,
      kind: 'export',
      accountId: account.id,
      name: req.name,
      datasetKey: resolved.dataset.key,
      cron: cron.source,
      body: saved,
      nextRunAt: cron.next(this.deps.now?.() ?? new Date()),
    });
    return view(schedule);
  }

  /** The catalog's dataset publish schedules (`dsv_<key>`), for operators: they are configured, not created through the API. */
  async listPublishSchedules() {
    return { data: (await this.deps.jobs.schedules.list({ kind: 'version' })).map(view) };
  }

  async list(account: Account) {
    return { data: (await this.deps.jobs.schedules.list({ accountId: account.id, kind: 'export' })).map(view) };
  }

  async get(account: Account, id: string) {
    return view(await this.#own(account, id));
  }

  async delete(account: Account, id: string): Promise<void> {
    await this.#own(account, id);
    await this.deps.jobs.schedules.delete(id);
  }

  async #own(account: Account, id: string): Promise<Schedule> {
    const s = await this.deps.jobs.schedules.get(id);
    if (!s || s.kind !== 'export' || s.accountId !== account.id) throw new FerryError('NOT_FOUND', `no schedule ${id}`);
    return s;
  }
}
