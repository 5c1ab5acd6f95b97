import type { CounterValue, DatasetVersion, Schedule, ScheduleKind } from '@ferry/core';
import type { Row } from './rows.js';

/** Row <-> domain mapping for dataset versions and schedules (migration 2). */
export function toDatasetVersion(row: Row): DatasetVersion {
  return {
    datasetKey: String(row.dataset_key),
    versionNumber: Number(row.version_number),
    cursor: String(row.cursor),
    previousCursor: row.previous_cursor === null ? null : String(row.previous_cursor),
    changedRowCount: Number(row.changed_row_count),
    rowCount: Number(row.row_count),
    counters: JSON.parse(String(row.counters)) as Record<string, CounterValue>,
    publishedAt: new Date(Number(row.published_at)),
    snapshotKey: String(row.snapshot_key),
    deltaKey: String(row.delta_key),
    prunedAt: row.pruned_at === null ? null : new Date(Number(row.pruned_at)),
  };
}

export function toSchedule(row: Row): Schedule {
  return {
    id: String(row.id),
    kind: String(row.kind) as ScheduleKind,
    accountId: row.account_id === null ? null : Number(row.account_id),
    name: String(row.name),
    datasetKey: String(row.dataset_key),
    cron: String(row.cron),
    body: JSON.parse(String(row.body)) as unknown,
    nextRunAt: new Date(Number(row.next_run_at)),
    lastRunAt: row.last_run_at === null ? null : new Date(Number(row.last_run_at)),
    createdAt: new Date(Number(row.created_at)),
  };
}
