import type { ExportJob, NewEvent } from '@ferry/core';
import { eventId } from './ids.js';

export type ExportEventType = 'export.requested' | 'export.completed' | 'export.downloaded' | 'export.failed';

const seconds = (d: Date | null): number | null => (d ? Math.floor(d.getTime() / 1000) : null);

/**
 * A lifecycle event in seed 004's envelope. `object` is the dataset key, `filters` the export's
 * filters, `uuid` the queryUUID; `failed_reason` only on export.failed; times in unix seconds.
 * Ferry has accounts, not users: `user_id` is the account id and `user_email` is null.
 */
export function exportEvent(
  type: ExportEventType,
  job: Pick<ExportJob, 'id' | 'accountId' | 'datasetKey' | 'query' | 'requestedAt' | 'startedAt' | 'finishedAt'>,
  opts: { at?: Date; failedReason?: string; id?: string } = {},
): NewEvent {
  const at = opts.at ?? new Date();
  const id = opts.id ?? eventId();
  const filters = (job.query as { filters?: unknown } | null)?.filters ?? [];
  const object = {
    account_id: job.accountId,
    created_at: seconds(job.requestedAt),
    ...(type === 'export.failed' ? { failed_reason: opts.failedReason ?? 'unknown failure' } : {}),
    filters,
    finished_at: type === 'export.requested' ? null : seconds(job.finishedAt ?? (type === 'export.failed' ? null : at)),
    object: job.datasetKey,
    started_at: type === 'export.requested' ? null : seconds(job.startedAt),
    updated_at: seconds(at),
    user_email: null,
    user_id: job.accountId,
    uuid: job.id,
  };
  const created = seconds(at)!;
  return {
    id,
    accountId: job.accountId,
    type,
    created: at,
    exportId: job.id,
    body: JSON.stringify({ type, id, created, data: { object } }),
  };
}

/** `endpoint.disabled`: sent to endpoints subscribed to it, so an operator learns a receiver is cut off. */
export function endpointDisabledEvent(accountId: number, endpoint: { id: string; url: string }, reason: string, at = new Date()): NewEvent {
  const id = eventId();
  const created = seconds(at)!;
  return {
    id,
    accountId,
    type: 'endpoint.disabled',
    created: at,
    exportId: null,
    body: JSON.stringify({ type: 'endpoint.disabled', id, created, data: { object: { endpoint_id: endpoint.id, url: endpoint.url, reason, disabled_at: created } } }),
  };
}
