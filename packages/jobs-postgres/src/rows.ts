import type {
  AccountRecord,
  ApiKeyRecord,
  AttemptRecord,
  DatasetVersion,
  Delivery,
  Endpoint,
  EndpointSecret,
  ExportJob,
  ExportResult,
  NewEvent,
  Schedule,
} from '@ferry/core';
import type { Row } from './session.js';

/**
 * Row -> domain mapping. pg returns bigint and numeric as strings and timestamptz as Date; every
 * count and id here fits a double (ids from an identity column, rows and bytes of one export).
 */
export const num = (v: unknown): number => Number(v);
export const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
export const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;
const jsonOrNull = <T>(v: unknown): T | null => (v === null || v === undefined ? null : json<T>(v));

/** Dates inside JSON columns are stored as ISO strings. */
export function resultToJson(result: ExportResult): string {
  return JSON.stringify(result);
}

function toResult(raw: unknown): ExportResult | null {
  const r = jsonOrNull<ExportResult & { finishedAt: string; expiresAt: string }>(raw);
  return r && { ...r, finishedAt: new Date(r.finishedAt), expiresAt: new Date(r.expiresAt) };
}

export function secretsToJson(secrets: readonly EndpointSecret[]): string {
  return JSON.stringify(secrets.map((s) => ({ value: s.value, expiresAt: s.expiresAt === null ? null : s.expiresAt.toISOString() })));
}

export function toAccount(row: Row): AccountRecord {
  return { id: num(row.id), name: text(row.name), createdAt: date(row.created_at) };
}

export function toApiKey(row: Row): ApiKeyRecord {
  return {
    id: String(row.id),
    accountId: num(row.account_id),
    prefix: String(row.prefix),
    createdAt: date(row.created_at),
    lastUsedAt: dateOrNull(row.last_used_at),
    revokedAt: dateOrNull(row.revoked_at),
  };
}

export function toExport(row: Row): ExportJob {
  return {
    id: String(row.id),
    accountId: num(row.account_id),
    name: String(row.name),
    format: String(row.format),
    compression: row.compression as ExportJob['compression'],
    webhookUrl: String(row.webhook_url),
    endpointId: String(row.endpoint_id),
    datasetKey: String(row.dataset_key),
    query: json<unknown>(row.query),
    hmacSignature: String(row.hmac_signature),
    requestedAt: date(row.requested_at),
    notifyOnFailure: row.notify_on_failure === true,
    split: jsonOrNull<NonNullable<ExportJob['split']>>(row.split),
    state: row.state as ExportJob['state'],
    attempts: num(row.attempts),
    startedAt: dateOrNull(row.started_at),
    finishedAt: dateOrNull(row.finished_at),
    updatedAt: date(row.updated_at),
    progressRows: num(row.progress_rows),
    progressBytes: num(row.progress_bytes),
    result: toResult(row.result),
    error: text(row.error),
    downloads: num(row.downloads),
  };
}

/** `prefix` selects columns aliased as `<prefix>id`, `<prefix>url`, ... (an endpoint joined to a delivery). */
export function toEndpoint(row: Row, prefix = ''): Endpoint {
  const col = (name: string): unknown => row[`${prefix}${name}`];
  const secrets = json<Array<{ value: string; expiresAt: string | null }>>(col('secrets'));
  return {
    id: String(col('id')),
    accountId: num(col('account_id')),
    url: String(col('url')),
    scheme: col('scheme') as Endpoint['scheme'],
    secrets: secrets.map((s) => ({ value: s.value, expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt) })),
    events: jsonOrNull<string[]>(col('events')),
    description: text(col('description')),
    registered: col('registered') === true,
    scheduleMs: jsonOrNull<number[]>(col('schedule_ms')),
    enabled: col('enabled') === true,
    disabledReason: text(col('disabled_reason')),
    failingSince: dateOrNull(col('failing_since')),
    createdAt: date(col('created_at')),
    updatedAt: date(col('updated_at')),
  };
}

export function toEvent(row: Row): NewEvent {
  return {
    id: String(row.id),
    accountId: num(row.account_id),
    type: String(row.type),
    created: date(row.created_at),
    exportId: text(row.export_id),
    body: String(row.body),
  };
}

/** Needs the delivery's columns plus `url` (the endpoint's, or the last one known if it is gone). */
export function toDelivery(row: Row): Delivery {
  return {
    id: String(row.id),
    accountId: num(row.account_id),
    endpointId: String(row.endpoint_id),
    messageId: String(row.message_id),
    exportId: text(row.export_id),
    eventType: String(row.event_type),
    body: String(row.body),
    headers: json<Record<string, string>>(row.headers),
    createdAt: date(row.created_at),
    state: row.state as Delivery['state'],
    attempts: num(row.attempts),
    nextAttemptAt: date(row.next_attempt_at),
    lastError: text(row.last_error),
    lastStatus: row.last_status === null || row.last_status === undefined ? null : num(row.last_status),
    url: String(row.url ?? ''),
  };
}

export function toAttempt(row: Row): AttemptRecord {
  return {
    at: date(row.at),
    durationMs: num(row.duration_ms),
    status: row.status === null ? null : num(row.status),
    error: text(row.error),
    responseBody: text(row.response_body),
  };
}

export function toVersion(row: Row): DatasetVersion {
  return {
    datasetKey: String(row.dataset_key),
    versionNumber: num(row.version_number),
    cursor: String(row.cursor),
    previousCursor: text(row.previous_cursor),
    changedRowCount: num(row.changed_row_count),
    rowCount: num(row.row_count),
    counters: json<DatasetVersion['counters']>(row.counters),
    publishedAt: date(row.published_at),
    snapshotKey: String(row.snapshot_key),
    deltaKey: String(row.delta_key),
    prunedAt: dateOrNull(row.pruned_at),
  };
}

export function toSchedule(row: Row): Schedule {
  return {
    id: String(row.id),
    kind: row.kind as Schedule['kind'],
    accountId: row.account_id === null ? null : num(row.account_id),
    name: String(row.name),
    datasetKey: String(row.dataset_key),
    cron: String(row.cron),
    body: json<unknown>(row.body),
    nextRunAt: date(row.next_run_at),
    lastRunAt: dateOrNull(row.last_run_at),
    createdAt: date(row.created_at),
  };
}
