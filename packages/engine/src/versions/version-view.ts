import type { CounterValue, DatasetVersion, NewEvent } from '@ferry/core';
import { eventId } from '../ids.js';

export const VERSION_PUBLISHED = 'dataset.version.published';

/**
 * The fields of `dataset.version.published`, in seed 002's order, with the dataset's counters
 * after `row_count` (where the seed has quote_safe_count and trade_category). URLs are absolute
 * and callable as-is with the API key.
 */
export function versionFields(v: DatasetVersion, baseUrl: string): Record<string, CounterValue> {
  const sync = `${baseUrl.replace(/\/+$/, '')}/sync/${encodeURIComponent(v.datasetKey)}`;
  const cursor = encodeURIComponent(v.cursor);
  return {
    dataset_key: v.datasetKey,
    version_number: v.versionNumber,
    cursor: v.cursor,
    previous_cursor: v.previousCursor,
    changed_row_count: v.changedRowCount,
    row_count: v.rowCount,
    ...v.counters,
    published_at: v.publishedAt.toISOString(),
    // Exactly the step previous -> this version; for a first version (nothing to step from) the
    // changes after it, which is what a consumer seeded from snapshot_url calls next.
    pull_deltas_url: v.previousCursor
      ? `${sync}/deltas?since=${encodeURIComponent(v.previousCursor)}&until=${cursor}`
      : `${sync}/deltas?since=${cursor}`,
    snapshot_url: `${sync}/snapshot?cursor=${cursor}`,
    requires_snapshot: v.previousCursor === null,
  };
}

/** One event per account; the id is derived from the version and account, so a retried commit dedupes. */
export function versionEvent(v: DatasetVersion, accountId: number, baseUrl: string): NewEvent {
  const id = eventId(`${v.datasetKey}\0${v.cursor}\0${accountId}`);
  const created = Math.floor(v.publishedAt.getTime() / 1000);
  return {
    id,
    accountId,
    type: VERSION_PUBLISHED,
    created: v.publishedAt,
    exportId: null,
    body: JSON.stringify({ type: VERSION_PUBLISHED, id, created, data: versionFields(v, baseUrl) }),
  };
}
