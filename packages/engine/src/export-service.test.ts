import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog, FerryError, type Account, type FormatWriter, type JobStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { createWebhookNotifier, type WebhookNotifier } from '@ferry/notifier-webhook';
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { parquetFormat } from '@ferry/format-parquet';
import { sampleResult } from '@ferry/testing/jobs';
import { DownloadLinks } from './download-links.js';
import { ExportService, type ExportServiceDeps } from './export-service.js';
import { SubmitRateLimiter } from './submit-limits.js';
import { compressionAvailable } from './compression.js';
import { createFormats, LINK_SECRET, PUBLIC_URL, RENTALS_QUERY, rentalsDataset } from './test-support/export-rig.js';

/*
 * The synchronous half of an export (docs/api.md): what a submit checks and queues, the limits on
 * it, and what list, status and cancel answer. Real SQLite job store and webhook notifier; webhook
 * URLs are loopback literals the notifier is told to allow, so nothing is resolved or contacted.
 */

const HOOK = 'http://127.0.0.1:9/hook';
const API_KEY = 'fk_test_key';

let dir: string;
let jobs: JobStore;
let notifier: WebhookNotifier;
let account: Account;
let neighbour: Account;
let formats: Map<string, FormatWriter>;
const links = new DownloadLinks(LINK_SECRET, PUBLIC_URL);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-export-service-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
  formats = await createFormats([csvFormat, jsonlFormat, parquetFormat], { csv: { use: 'csv' }, jsonl: { use: 'jsonl' }, parquet: { use: 'parquet' } }, dir);
  account = await jobs.accounts.create({ name: 'tenant', createdAt: new Date() });
  neighbour = await jobs.accounts.create({ name: 'neighbour', createdAt: new Date() });
});

afterEach(async () => {
  await notifier.close();
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

function service(limits?: ExportServiceDeps['limits']): ExportService {
  return new ExportService({ jobs, catalog: createCatalog([rentalsDataset(join(dir, 'rentals.parquet'))]), notifier, links, formats, ...(limits ? { limits } : {}) });
}

const request = (overrides: Record<string, unknown> = {}) => ({ dataset: RENTALS_QUERY, webhookURL: HOOK, name: 'Rentals Q1', format: 'csv', ...overrides });

async function refusal(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

describe('submit', () => {
  it('queues the export as sent, signed with the API key, with its export.requested event', async () => {
    // Keys out of order: the export keeps the client's JSON, not a normalised copy.
    const dataset = { scopes: RENTALS_QUERY.scopes, from: 'rentals', orderBy: RENTALS_QUERY.orderBy };
    const before = Date.now();
    const submitted = await service().submit(account, API_KEY, request({ dataset }));
    expect(Object.keys(submitted)).toEqual(['queryUUID']);
    const job = (await jobs.exports.get(submitted.queryUUID))!;
    const endpoint = (await jobs.endpoints.findImplicit(account.id, HOOK, 'ferry-hmac'))!;
    expect(job).toMatchObject({
      accountId: account.id,
      name: 'Rentals Q1',
      format: 'csv',
      compression: 'gzip',
      webhookUrl: HOOK,
      endpointId: endpoint.id,
      datasetKey: 'rentals',
      hmacSignature: notifier.signPayload(API_KEY, dataset),
      notifyOnFailure: false,
      split: null,
      state: 'queued',
      attempts: 0,
    });
    expect(JSON.stringify(job.query)).toBe(JSON.stringify(dataset));
    expect(job.requestedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(endpoint).toMatchObject({ registered: false, events: null, secrets: [], enabled: true });

    const events = await jobs.events.list(account.id, { limit: 10 });
    expect(events.map((e) => [e.type, e.exportId])).toEqual([['export.requested', job.id]]);
    expect(JSON.parse(events[0]!.body)).toMatchObject({ data: { object: { uuid: job.id, started_at: null, finished_at: null, object: 'rentals' } } });
    expect(await jobs.deliveries.list(account.id, { limit: 10 })).toEqual([]);
  });

  it('gives parquet no compression by default and keeps an explicit choice for csv', async () => {
    const s = service();
    const parquet = await s.submit(account, API_KEY, request({ format: 'parquet' }));
    const plain = await s.submit(account, API_KEY, request({ compression: 'none' }));
    expect((await jobs.exports.get(parquet.queryUUID))?.compression).toBe('none');
    expect((await jobs.exports.get(plain.queryUUID))?.compression).toBe('none');
  });

  it('records the split limits and notifyOnFailure that were asked for', async () => {
    const s = service();
    const rows = await s.submit(account, API_KEY, request({ maxFileRows: 1000, notifyOnFailure: true }));
    const bytes = await s.submit(account, API_KEY, request({ maxFileBytes: 2 * 1024 * 1024 }));
    const both = await s.submit(account, API_KEY, request({ maxFileRows: 10, maxFileBytes: 1024 * 1024 }));
    expect(await jobs.exports.get(rows.queryUUID)).toMatchObject({ split: { maxFileRows: 1000 }, notifyOnFailure: true });
    expect((await jobs.exports.get(rows.queryUUID))?.split).toEqual({ maxFileRows: 1000 });
    expect((await jobs.exports.get(bytes.queryUUID))?.split).toEqual({ maxFileBytes: 2 * 1024 * 1024 });
    expect((await jobs.exports.get(both.queryUUID))?.split).toEqual({ maxFileRows: 10, maxFileBytes: 1024 * 1024 });
  });

  it('hands out the endpoint secret of a non-seed signing scheme, and reuses the endpoint after', async () => {
    const s = service();
    const first = await s.submit(account, API_KEY, request({ webhookScheme: 'standard-webhooks' }));
    const second = await s.submit(account, API_KEY, request({ webhookScheme: 'standard-webhooks' }));
    expect(first.webhookSecret).toMatch(/^whsec_/);
    expect(second.webhookSecret).toBe(first.webhookSecret);
    const endpoint = (await jobs.endpoints.findImplicit(account.id, HOOK, 'standard-webhooks'))!;
    expect(endpoint.secrets.map((x) => x.value)).toEqual([first.webhookSecret]);
    expect((await jobs.exports.get(second.queryUUID))?.endpointId).toBe(endpoint.id);
  });

  it.each([
    ['a missing name', request({ name: undefined }), 'VALIDATION_FAILED', ['name']],
    ['a blank name', request({ name: '   ' }), 'VALIDATION_FAILED', ['name']],
    ['an unknown field', request({ colour: 'red' }), 'VALIDATION_FAILED', []],
    ['a format not offered', request({ format: 'xml' }), 'VALIDATION_FAILED', ['format']],
    ['compressing parquet', request({ format: 'parquet', compression: 'gzip' }), 'VALIDATION_FAILED', ['compression']],
    ['an unknown dataset', request({ dataset: { ...RENTALS_QUERY, from: 'leases' } }), 'UNKNOWN_DATASET', ['dataset', 'from']],
    ['an unknown column', request({ dataset: { from: 'rentals', scopes: [{ column: 'colour' }] } }), 'UNKNOWN_COLUMN', ['dataset', 'scopes', 0, 'column']],
    ['a webhook URL on a private network', request({ webhookURL: 'http://10.1.2.3/hook' }), 'INVALID_WEBHOOK_URL', ['webhookURL']],
    ['a split under 1 MiB', request({ maxFileBytes: 1000 }), 'VALIDATION_FAILED', ['maxFileBytes']],
  ])('refuses %s with its code and the field’s path, and queues nothing', async (_what, body, code, path) => {
    const err = await refusal(service().submit(account, API_KEY, body));
    expect(err.code).toBe(code);
    if (path.length > 0) expect(err.path).toEqual(path);
    expect(await jobs.exports.list(account.id, { limit: 10 })).toEqual([]);
    expect(await jobs.events.list(account.id, { limit: 10 })).toEqual([]);
  });

  it('names the formats it offers when one is not', async () => {
    const err = await refusal(service().submit(account, API_KEY, request({ format: 'xml' })));
    expect(err.message).toBe('format "xml" is not offered here (offered: csv, jsonl, parquet)');
  });

  it('accepts zstd where the runtime has it and refuses it at its field where it does not', async () => {
    const submit = service().submit(account, API_KEY, request({ compression: 'zstd' }));
    if (compressionAvailable('zstd')) {
      expect((await submit).queryUUID).toMatch(/^[0-9a-f-]{36}$/);
      return;
    }
    const err = await refusal(submit);
    expect([err.code, err.path]).toEqual(['VALIDATION_FAILED', ['compression']]);
  });
});

describe('submit limits', () => {
  it('refuses a submit over the account’s rate, without queueing it', async () => {
    const s = service({ rate: new SubmitRateLimiter({ ratePerSecond: 1, burst: 2 }, () => 1_000_000), maxQueued: 100 });
    await s.submit(account, API_KEY, request());
    await s.submit(account, API_KEY, request());
    const err = await refusal(s.submit(account, API_KEY, request()));
    expect([err.code, err.status, err.retryAfterSeconds]).toEqual(['RATE_LIMITED', 429, 1]);
    expect(await jobs.exports.list(account.id, { limit: 10 })).toHaveLength(2);
    // Another account has its own bucket.
    await s.submit(neighbour, API_KEY, request());
  });

  it('refuses a submit while queued and running exports reach maxQueued; ended ones do not count', async () => {
    const s = service({ rate: new SubmitRateLimiter({ ratePerSecond: 1000, burst: 1000 }), maxQueued: 2 });
    await s.submit(account, API_KEY, request());
    await s.submit(account, API_KEY, request());
    // Two submits in one millisecond rank by id: which one the claim takes is not known in advance.
    const [running] = await jobs.exports.claim('worker', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 10 });
    const err = await refusal(s.submit(account, API_KEY, request()));
    expect([err.code, err.status, err.retryAfterSeconds]).toEqual(['TOO_MANY_QUEUED', 429, 30]);
    expect(err.message).toBe('this account has 2 exports queued or running, the most allowed (2); wait for some to finish');
    await s.submit(neighbour, API_KEY, request());

    await s.cancel(account, running!.id);
    await s.submit(account, API_KEY, request());
    expect(await jobs.exports.countByState(account.id)).toMatchObject({ queued: 2, running: 0, failed: 1 });
  });

  it('checks the request before spending a rate token on it', async () => {
    const s = service({ rate: new SubmitRateLimiter({ ratePerSecond: 1, burst: 1 }, () => 0), maxQueued: 100 });
    await refusal(s.submit(account, API_KEY, request({ name: '' })));
    await s.submit(account, API_KEY, request());
    expect(await jobs.exports.list(account.id, { limit: 10 })).toHaveLength(1);
  });
});

describe('list', () => {
  it('lists the account’s exports newest first, as summaries, in pages', async () => {
    const s = service();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await s.submit(account, API_KEY, request({ name: `export ${i}` }))).queryUUID);
    await s.submit(neighbour, API_KEY, request());

    // Newest first; submits in the same millisecond are ordered by id.
    const stored = await Promise.all(ids.map(async (id) => (await jobs.exports.get(id))!));
    const newest = stored.sort((a, b) => b.requestedAt.getTime() - a.requestedAt.getTime() || (a.id < b.id ? 1 : -1)).map((j) => j.id);
    const page = await s.list(account, { limit: '2' });
    expect(page.hasMore).toBe(true);
    expect(page.data.map((e) => e.queryUUID)).toEqual(newest.slice(0, 2));
    const job = (await jobs.exports.get(newest[0]!))!;
    expect(page.data[0]).toEqual({
      queryUUID: job.id,
      name: job.name,
      format: 'csv',
      dataset: 'rentals',
      state: 'queued',
      requestedOn: job.requestedAt.toISOString(),
      startedOn: null,
      completedOn: null,
      attempts: 0,
      progress: { rows: 0, bytes: 0 },
      numberRows: null,
      error: null,
    });

    const rest = await s.list(account, { limit: '2', starting_after: newest[1] });
    expect(rest).toEqual({ data: [expect.objectContaining({ queryUUID: newest[2] })], hasMore: false });
  });

  it('filters by state', async () => {
    const s = service();
    const a = await s.submit(account, API_KEY, request());
    await s.submit(account, API_KEY, request());
    await s.cancel(account, a.queryUUID);
    const failed = await s.list(account, { state: 'failed' });
    expect(failed.data.map((e) => [e.queryUUID, e.state, e.error])).toEqual([[a.queryUUID, 'failed', 'cancelled by request']]);
  });

  it('refuses a cursor that is another account’s export, and a bad limit, at their query paths', async () => {
    const s = service();
    const theirs = await s.submit(neighbour, API_KEY, request());
    const cursor = await refusal(s.list(account, { starting_after: theirs.queryUUID }));
    expect([cursor.code, cursor.path]).toEqual(['VALIDATION_FAILED', ['query', 'starting_after']]);
    const missing = await refusal(s.list(account, { starting_after: 'nope' }));
    expect(missing.path).toEqual(['query', 'starting_after']);
    const limit = await refusal(s.list(account, { limit: '0' }));
    expect([limit.code, limit.path]).toEqual(['VALIDATION_FAILED', ['query', 'limit']]);
  });
});

describe('status', () => {
  it('answers 404 for another account’s export, as for one that does not exist', async () => {
    const s = service();
    const theirs = await s.submit(neighbour, API_KEY, request());
    for (const id of [theirs.queryUUID, '00000000-0000-4000-8000-000000000000']) {
      for (const call of [s.status(account, id), s.find(account, id), s.cancel(account, id)]) {
        const err = await refusal(call);
        expect([err.code, err.status, err.message]).toEqual(['NOT_FOUND', 404, `no export ${id}`]);
      }
    }
    expect((await jobs.exports.get(theirs.queryUUID))?.state).toBe('queued');
  });

  it('has no files, links or encoder before the export completes', async () => {
    const s = service();
    const { queryUUID } = await s.submit(account, API_KEY, request());
    const status = await s.status(account, queryUUID);
    expect(status).toMatchObject({ state: 'queued', download: null, files: [], manifestUrl: null, encodedBy: null });
    expect(status.webhook).toEqual({ endpointId: (await jobs.exports.get(queryUUID))!.endpointId, deliveries: [] });
  });

  it('links every file and the manifest of a completed export, and says who encoded it', async () => {
    const s = service();
    const { queryUUID } = await s.submit(account, API_KEY, request());
    const [claimed] = await jobs.exports.claim('worker', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 10 });
    const finishedAt = new Date('2026-01-02T03:04:05.000Z');
    const result = sampleResult(finishedAt, { pushdown: false });
    expect(await jobs.exports.complete(queryUUID, 'worker', result)).toBe(true);
    await jobs.exports.recordDownload({ exportId: queryUUID, at: new Date(), bytes: 10, client: '127.0.0.1', range: null });

    const status = await s.status(account, queryUUID);
    const expiresAt = result.expiresAt;
    expect(status).toMatchObject({
      state: 'completed',
      startedOn: claimed!.startedAt!.toISOString(),
      completedOn: finishedAt.toISOString(),
      numberRows: 12,
      encodedBy: 'ferry',
      download: {
        url: links.url({ exportId: queryUUID, expiresAt }),
        expires: expiresAt.toISOString(),
        fileName: 'part-1.csv.gz',
        bytes: 200,
        sha256: 'b'.repeat(64),
        downloads: 1,
      },
      manifestUrl: links.url({ exportId: queryUUID, expiresAt, file: 'manifest' }),
    });
    expect(status.files).toEqual([
      { url: links.url({ exportId: queryUUID, expiresAt }), fileName: 'part-1.csv.gz', rows: 7, bytes: 200, sha256: 'b'.repeat(64) },
      { url: links.url({ exportId: queryUUID, expiresAt, file: 1 }), fileName: 'part-2.csv.gz', rows: 5, bytes: 145, sha256: 'c'.repeat(64) },
    ]);

    expect(await jobs.exports.markExpired(queryUUID)).toBe(true);
    expect(await s.status(account, queryUUID)).toMatchObject({ state: 'expired', completedOn: finishedAt.toISOString() });
  });

  it('says the source encoded a pushdown export, and lists the webhook deliveries of the export', async () => {
    const s = service();
    const { queryUUID } = await s.submit(account, API_KEY, request({ notifyOnFailure: true }));
    await jobs.exports.claim('worker', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 10 });
    await jobs.exports.complete(queryUUID, 'worker', sampleResult(new Date(), { pushdown: true, manifest: null }));
    const status = await s.status(account, queryUUID);
    expect([status.encodedBy, status.manifestUrl]).toEqual(['source', null]);
  });
});

describe('cancel', () => {
  it('fails a queued export with its event and, when asked for, its failure notice', async () => {
    const s = service();
    const { queryUUID } = await s.submit(account, API_KEY, request({ notifyOnFailure: true }));
    const status = await s.cancel(account, queryUUID);
    expect(status).toMatchObject({ queryUUID, state: 'failed', error: 'cancelled by request', completedOn: null });
    expect((await jobs.events.list(account.id, { limit: 10 })).map((e) => e.type)).toEqual(['export.requested', 'export.failed']);
    expect(status.webhook.deliveries).toEqual([
      expect.objectContaining({ event: 'export.failed', state: 'pending', attempts: 0, lastStatus: null, lastError: null }),
    ]);
    const notice = (await jobs.deliveries.list(account.id, { exportId: queryUUID, limit: 10 }))[0]!;
    expect(JSON.parse(notice.body)).toMatchObject({ queryUUID, error: { reason: 'cancelled by request' } });
  });

  it('sends no failure notice to an export that did not ask for one', async () => {
    const s = service();
    const { queryUUID } = await s.submit(account, API_KEY, request());
    await jobs.exports.claim('worker', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 10 });
    expect((await s.cancel(account, queryUUID)).state).toBe('failed');
    expect(await jobs.deliveries.list(account.id, { exportId: queryUUID, limit: 10 })).toEqual([]);
  });

  it('refuses to cancel an export that already ended, saying how', async () => {
    const s = service();
    const done = await s.submit(account, API_KEY, request());
    await jobs.exports.claim('worker', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 10 });
    await jobs.exports.complete(done.queryUUID, 'worker', sampleResult(new Date()));
    const completed = await refusal(s.cancel(account, done.queryUUID));
    expect([completed.code, completed.message]).toEqual(['CONFLICT', `export ${done.queryUUID} has already completed; nothing to cancel`]);

    const failed = await s.submit(account, API_KEY, request());
    await s.cancel(account, failed.queryUUID);
    const again = await refusal(s.cancel(account, failed.queryUUID));
    expect([again.code, again.message]).toEqual(['CONFLICT', `export ${failed.queryUUID} has already ended; nothing to cancel`]);
    expect((await jobs.events.list(account.id, { type: 'export.failed', limit: 10 })).length).toBe(1);
  });
});
