import type { AttemptRecord, Delivery, Endpoint, EndpointSecret, ExportJob, ExportResult, NewEvent } from '@ferry/core';

/** Row <-> domain mapping; the SQL lives in sqlite-job-store.ts. */
export type Row = Record<string, unknown>;

const date = (ms: unknown): Date | null => (ms === null || ms === undefined ? null : new Date(Number(ms)));
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toExport(row: Row): ExportJob {
  const result = row.result ? (JSON.parse(String(row.result)) as ExportResult & { finishedAt: string; expiresAt: string }) : null;
  return {
    id: String(row.id),
    accountId: Number(row.account_id),
    name: String(row.name),
    format: row.format as ExportJob['format'],
    compression: row.compression as ExportJob['compression'],
    webhookUrl: String(row.webhook_url),
    endpointId: String(row.endpoint_id),
    datasetKey: String(row.dataset_key),
    query: JSON.parse(String(row.query)),
    hmacSignature: String(row.hmac_signature),
    notifyOnFailure: Number(row.notify_on_failure) === 1,
    split: row.split === null || row.split === undefined ? null : (JSON.parse(String(row.split)) as ExportJob['split']),
    requestedAt: new Date(Number(row.requested_at)),
    state: row.state as ExportJob['state'],
    attempts: Number(row.attempts),
    startedAt: date(row.started_at),
    finishedAt: date(row.finished_at),
    updatedAt: new Date(Number(row.updated_at)),
    progressRows: Number(row.progress_rows),
    progressBytes: Number(row.progress_bytes),
    result: result && { ...result, finishedAt: new Date(result.finishedAt), expiresAt: new Date(result.expiresAt) },
    error: text(row.error),
    downloads: Number(row.downloads),
  };
}

export function toEndpoint(row: Row, now: number): Endpoint {
  const secrets = (JSON.parse(String(row.secrets)) as Array<{ value: string; expiresAt: number | null }>)
    // A rotated-out secret stops signing once its grace period is over.
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .map((s): EndpointSecret => ({ value: s.value, expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt) }));
  return {
    id: String(row.id),
    accountId: Number(row.account_id),
    url: String(row.url),
    scheme: row.scheme as Endpoint['scheme'],
    secrets,
    events: row.events === null ? null : (JSON.parse(String(row.events)) as string[]),
    description: text(row.description),
    registered: Number(row.registered) === 1,
    scheduleMs: row.schedule === null ? null : (JSON.parse(String(row.schedule)) as number[]),
    enabled: Number(row.enabled) === 1,
    disabledReason: text(row.disabled_reason),
    failingSince: date(row.failing_since),
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
  };
}

export function toDelivery(row: Row): Delivery {
  return {
    id: String(row.id),
    accountId: Number(row.account_id),
    endpointId: String(row.endpoint_id),
    messageId: String(row.message_id),
    exportId: text(row.export_id),
    eventType: String(row.event_type),
    url: String(row.url),
    body: String(row.body),
    headers: JSON.parse(String(row.headers)) as Record<string, string>,
    state: row.state as Delivery['state'],
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(Number(row.next_attempt_at)),
    createdAt: new Date(Number(row.created_at)),
    lastError: text(row.last_error),
    lastStatus: row.last_status === null ? null : Number(row.last_status),
  };
}

export function toAttempt(row: Row): AttemptRecord {
  return {
    at: new Date(Number(row.at)),
    durationMs: Number(row.duration_ms),
    status: row.status === null ? null : Number(row.status),
    error: text(row.error),
    responseBody: text(row.response_body),
  };
}

export function toEvent(row: Row): NewEvent {
  return {
    id: String(row.id),
    accountId: Number(row.account_id),
    type: String(row.type),
    created: new Date(Number(row.created_at)),
    exportId: text(row.export_id),
    body: String(row.body),
  };
}
