import { randomUUID } from 'node:crypto';
import type {
  AttemptRecord,
  ExportResult,
  JobStore,
  JobStoreParts,
  NewApiKey,
  NewDatasetVersion,
  NewDelivery,
  NewEndpoint,
  NewEvent,
  NewExportJob,
  NewSchedule,
} from '@ferry/core';

const uid = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/**
 * A submitted query as a client could send it: nesting, unicode, quotes, every JSON type, and
 * keys deliberately out of alphabetical order (the webhook echoes the query exactly as sent).
 */
export const SAMPLE_QUERY = {
  scopes: [{ column: 'msa' }, { column: 'bedrooms' }],
  filters: [
    { column: 'msa', filter: { equals: 'O\'Hare "quoted" \\ Zürich — 東京 🚚' } },
    { column: 'price', filter: { between: [1.5, 9007199254740991] } },
    { column: 'pets', filter: { equals: true } },
    { column: 'deleted_at', filter: { isNull: null } },
  ],
  zeta: { b: 2, a: 1 },
  limit: 0,
};

export function sampleExport(accountId: number, overrides: Partial<NewExportJob> = {}): NewExportJob {
  return {
    id: randomUUID(),
    accountId,
    name: 'Seattle Rental Data',
    format: 'csv',
    compression: 'gzip',
    webhookUrl: 'https://hooks.example.com/ferry',
    endpointId: 'ep_unset',
    datasetKey: 'rentals',
    query: SAMPLE_QUERY,
    hmacSignature: 'a'.repeat(64),
    requestedAt: new Date(),
    notifyOnFailure: false,
    split: null,
    ...overrides,
  };
}

/** A split export's result: two files and their manifest. */
export function sampleResult(finishedAt: Date, overrides: Partial<ExportResult> = {}): ExportResult {
  return {
    files: [
      { objectKey: 'exports/x/part-1.csv.gz', fileName: 'part-1.csv.gz', contentType: 'application/gzip', rows: 7, bytes: 200, sha256: 'b'.repeat(64) },
      { objectKey: 'exports/x/part-2.csv.gz', fileName: 'part-2.csv.gz', contentType: 'application/gzip', rows: 5, bytes: 145, sha256: 'c'.repeat(64) },
    ],
    manifest: { objectKey: 'exports/x/manifest.json', fileName: 'manifest.json', contentType: 'application/json', rows: 12, bytes: 345, sha256: 'd'.repeat(64) },
    numberRows: 12,
    bytes: 345,
    timeTakenMs: 1234,
    finishedAt,
    expiresAt: new Date(finishedAt.getTime() + 30 * 86_400_000),
    pushdown: true,
    ...overrides,
  };
}

export function sampleEndpoint(accountId: number, overrides: Partial<NewEndpoint> = {}): NewEndpoint {
  return {
    id: uid('ep'),
    accountId,
    url: 'https://hooks.example.com/events',
    scheme: 'standard-webhooks',
    secrets: [{ value: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', expiresAt: null }],
    events: ['export.*'],
    description: 'events for the billing team',
    registered: true,
    scheduleMs: null,
    createdAt: new Date(),
    ...overrides,
  };
}

/** An export's own webhook URL: implicit, seed scheme, no secrets, no event filter. */
export function sampleImplicitEndpoint(accountId: number, overrides: Partial<NewEndpoint> = {}): NewEndpoint {
  return sampleEndpoint(accountId, {
    url: 'https://hooks.example.com/ferry',
    scheme: 'ferry-hmac',
    secrets: [],
    events: null,
    description: null,
    registered: false,
    ...overrides,
  });
}

export function sampleEvent(accountId: number, overrides: Partial<NewEvent> = {}): NewEvent {
  const id = overrides.id ?? uid('evt');
  const type = overrides.type ?? 'export.completed';
  return {
    id,
    accountId,
    type,
    created: new Date(),
    exportId: null,
    body: JSON.stringify({ id, type, data: { note: 'é "q" \\ ✓' } }),
    ...overrides,
  };
}

export function sampleDelivery(accountId: number, endpointId: string, overrides: Partial<NewDelivery> = {}): NewDelivery {
  const id = overrides.id ?? uid('msg');
  return {
    id,
    accountId,
    endpointId,
    messageId: id,
    exportId: null,
    eventType: 'export.completed',
    body: '{"type":"export.completed","data":{"rows":12}}',
    headers: { 'SHA256-HMAC-Signature': 'c'.repeat(64), 'X-Ferry-Trace': 'abc' },
    createdAt: new Date(),
    ...overrides,
  };
}

export function sampleAttempt(at: Date, overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return { at, durationMs: 12, status: 500, error: 'HTTP 500', responseBody: 'upstream "broke"', ...overrides };
}

export function sampleApiKey(accountId: number, createdAt: Date, overrides: Partial<NewApiKey> = {}): NewApiKey {
  const id = overrides.id ?? uid('key');
  return { id, accountId, keyHash: `hash-of-${id}`, prefix: `fk_${id.slice(4, 10)}`, createdAt, ...overrides };
}

export function sampleVersion(n: number, cursor: string, previousCursor: string | null, datasetKey = 'fees'): NewDatasetVersion {
  return {
    datasetKey,
    versionNumber: n,
    cursor,
    previousCursor,
    changedRowCount: 3,
    rowCount: 10 * n,
    counters: { quote_safe_count: 7, trade_category: null, big: '9007199254740993', ok: true, ratio: 0.25 },
    publishedAt: new Date(Date.UTC(2025, 0, n, 12, 0, 0, 123)),
    snapshotKey: `versions/${datasetKey}/${n}/snapshot.parquet`,
    deltaKey: `versions/${datasetKey}/${n}/delta.parquet`,
  };
}

export function sampleSchedule(overrides: Partial<NewSchedule> = {}): NewSchedule {
  return {
    id: uid('sch'),
    kind: 'export',
    accountId: null,
    name: 'nightly',
    datasetKey: 'fees',
    cron: '0 3 * * *',
    body: { request: { name: 'nightly', format: 'csv', query: { filters: [] } }, hmacSignature: 'e'.repeat(64) },
    nextRunAt: new Date(Date.UTC(2025, 0, 1, 3)),
    ...overrides,
  };
}

/** A new account; the store's accounts are where every other record hangs from. */
export async function newAccount(store: JobStore | JobStoreParts, name: string | null = null, createdAt = new Date()): Promise<number> {
  return (await store.accounts.create({ name, createdAt })).id;
}
