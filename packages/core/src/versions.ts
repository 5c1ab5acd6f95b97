import { z } from 'zod';
import { ExportFormat, ExportRequest, Compression } from './export.js';
import type { RowStream } from './contracts.js';

/**
 * Dataset versions (snapshots + deltas), the sync API and schedules: the shared vocabulary.
 * The DuckDB-specific work sits behind `SnapshotEngine`; the engine orchestrates; a JobStore keeps
 * the durable records (see the "versions and schedules" section of the JobStore contract).
 */

/** Fields of `dataset.version.published` (seed 002) that a counter must not shadow. */
export const VERSION_EVENT_FIELDS = [
  'dataset_key',
  'version_number',
  'cursor',
  'previous_cursor',
  'changed_row_count',
  'row_count',
  'published_at',
  'pull_deltas_url',
  'snapshot_url',
  'requires_snapshot',
] as const;

/**
 * `versioning` in a catalog dataset. Counters are SQL aggregate expressions over the snapshot
 * (DuckDB dialect, evaluated over the snapshot's Parquet file), e.g.
 * `{"quote_safe_count": "count(*) FILTER (WHERE quote_safe)"}`. Like `relation.sql`, they are
 * written by the operator and trusted; clients never supply SQL.
 */
export const DatasetVersioning = z.strictObject({
  counters: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'counter names are lower snake case'), z.string().trim().min(1))
    .refine((c) => !Object.keys(c).some((k) => (VERSION_EVENT_FIELDS as readonly string[]).includes(k)), {
      message: `counter names must not reuse an event field (${VERSION_EVENT_FIELDS.join(', ')})`,
    })
    .optional(),
  /** 5-field cron (minute hour day-of-month month day-of-week), UTC: publish a version on each tick. */
  schedule: z.string().trim().min(1).optional(),
  /** Versions kept (snapshot + delta); older ones are pruned and their cursors answer 410. Default: all. */
  retainVersions: z.int().min(1).optional(),
  /** Most rows a snapshot may hold (default: the dataset's `limits.maxRows`); more fails the publish. */
  maxRows: z.int().positive().optional(),
});
export type DatasetVersioning = z.infer<typeof DatasetVersioning>;

/** A JSON scalar: what a counter evaluates to. */
export type CounterValue = string | number | boolean | null;

export interface NewDatasetVersion {
  datasetKey: string;
  /** 1, 2, 3 ... per dataset; the store refuses a number that exists (a concurrent publish won). */
  versionNumber: number;
  cursor: string;
  previousCursor: string | null;
  changedRowCount: number;
  rowCount: number;
  counters: Record<string, CounterValue>;
  publishedAt: Date;
  snapshotKey: string;
  /** Rows changed since the previous version, with an `op` column; for version 1 a zero-row file. */
  deltaKey: string;
}

export interface DatasetVersion extends NewDatasetVersion {
  /** Set once retention removed the files: the cursor still resolves, and answers 410. */
  prunedAt: Date | null;
}

export type VersionLookup = { cursor: string } | { versionNumber: number } | { latest: true };

export interface VersionListQuery {
  /** Exclusive lower bound. */
  afterVersion?: number;
  /** Inclusive upper bound. */
  throughVersion?: number;
  order: 'asc' | 'desc';
  limit: number;
}

// ---------------------------------------------------------------- schedules

export type ScheduleKind = 'export' | 'version';

export interface NewSchedule {
  id: string;
  kind: ScheduleKind;
  /** The owner of a saved export; null for a catalog dataset's publish schedule. */
  accountId: number | null;
  name: string;
  datasetKey: string;
  cron: string;
  /** For `export`: the export request (minus `cron`) as submitted, plus `hmacSignature`. */
  body: unknown;
  nextRunAt: Date;
}

export interface Schedule extends NewSchedule {
  lastRunAt: Date | null;
  createdAt: Date;
}

/** `POST /exports/schedules`: an export request plus its cron. */
export const ExportScheduleCreate = ExportRequest.extend({
  cron: z.string().trim().min(1).max(256),
});
export type ExportScheduleCreate = z.infer<typeof ExportScheduleCreate>;

/** Query of `GET /sync/:dataset/deltas`. */
export const DeltaQuery = z.strictObject({
  since: z.string().min(1, 'since is required: the cursor you hold'),
  /** Stop at this version (default the latest); pull_deltas_url pins it so it names exactly one step. */
  until: z.string().min(1).optional(),
  format: ExportFormat.default('jsonl'),
  compression: Compression.default('none'),
});
export type DeltaQuery = z.infer<typeof DeltaQuery>;

/** Query of `GET /sync/:dataset/snapshot`. */
export const SnapshotQuery = z.strictObject({
  cursor: z.string().min(1).optional(),
  format: ExportFormat.default('parquet'),
  compression: Compression.default('none'),
});
export type SnapshotQuery = z.infer<typeof SnapshotQuery>;

export const VersionListRequest = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Version number to continue before (pages go newest to oldest). */
  before: z.coerce.number().int().min(1).optional(),
});

// ---------------------------------------------------------------- snapshot engine

export interface DiffStats {
  /** Rows in the delta (inserts + updates + deletes). */
  changed: number;
  /** Rows in the new snapshot. */
  rows: number;
}

/**
 * Set operations on Parquet files on local disk, done by a database so that no row passes through
 * JS (a publish of millions of rows stays in flat memory). Files are paths; outputs are overwritten.
 *
 * A delta file has the snapshot's columns preceded by `op` ('insert' | 'update' | 'delete'), one
 * row per changed key, ordered by key. Insert and update rows carry the new values; a delete row
 * carries the key and NULL in every other column.
 */
export interface SnapshotEngine {
  /**
   * The delta from `prev` to `next` by primary key, written to `out`. With `prev` null (a first
   * version) `out` gets a zero-row delta and every row counts as changed. Fails with
   * VALIDATION_FAILED when `next` repeats a key or has a NULL key.
   */
  diff(prev: string | null, next: string, primaryKey: readonly string[], out: string): Promise<DiffStats>;
  /**
   * Several consecutive deltas (oldest first, at least one) folded into one, per key: whether the
   * key existed before the first and after the last decides the op (absent->present: insert,
   * present->absent: delete, present->present: update, absent->absent: dropped); values are the last.
   */
  coalesce(deltas: readonly string[], primaryKey: readonly string[], out: string): Promise<{ rows: number }>;
  /** A zero-row file with `like`'s columns. */
  empty(like: string, out: string): Promise<void>;
  /** Evaluate named SQL aggregates over a file. */
  counters(file: string, expressions: Readonly<Record<string, string>>): Promise<Record<string, CounterValue>>;
  /** Stream a file's rows as Arrow batches (to feed a FormatWriter). */
  read(file: string, opts: { signal: AbortSignal; batchRows?: number }): Promise<RowStream>;
  close(): Promise<void>;
}
