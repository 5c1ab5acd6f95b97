import type { CounterValue, DatasetVersion, NewDatasetVersion, VersionListQuery, VersionLookup, VersionsPart } from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { date, dateOrNull, int, json, ms, text, textOrNull, type Row } from './columns.js';

function toVersion(row: Row): DatasetVersion {
  return {
    datasetKey: text(row.dataset_key),
    versionNumber: int(row.version_number),
    cursor: text(row.cursor),
    previousCursor: textOrNull(row.previous_cursor),
    changedRowCount: int(row.changed_row_count),
    rowCount: int(row.row_count),
    counters: json<Record<string, CounterValue>>(row.counters),
    publishedAt: date(row.published_at),
    snapshotKey: text(row.snapshot_key),
    deltaKey: text(row.delta_key),
    prunedAt: dateOrNull(row.pruned_at),
  };
}

const LATEST = 'SELECT * FROM dataset_versions WHERE dataset_key = ? ORDER BY version_number DESC LIMIT 1';

export class SqliteVersions implements VersionsPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async insert(v: NewDatasetVersion): Promise<boolean> {
    return this.#x.atomic(() => {
      // The version before this one must be the one its delta was computed against.
      const latest = this.#x.sql(LATEST).get(v.datasetKey) as Row | undefined;
      const expected = latest ? { n: int(latest.version_number) + 1, previous: text(latest.cursor) } : { n: 1, previous: null };
      if (v.versionNumber !== expected.n || v.previousCursor !== expected.previous) return false;
      this.#x
        .sql(
          `INSERT INTO dataset_versions (dataset_key, version_number, cursor, previous_cursor, changed_row_count, row_count, counters,
             published_at, snapshot_key, delta_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          v.datasetKey,
          v.versionNumber,
          v.cursor,
          v.previousCursor,
          v.changedRowCount,
          v.rowCount,
          JSON.stringify(v.counters),
          ms(v.publishedAt),
          v.snapshotKey,
          v.deltaKey,
        );
      return true;
    });
  }

  async find(datasetKey: string, lookup: VersionLookup): Promise<DatasetVersion | null> {
    const row = (
      'cursor' in lookup
        ? this.#x.sql('SELECT * FROM dataset_versions WHERE dataset_key = ? AND cursor = ?').get(datasetKey, lookup.cursor)
        : 'versionNumber' in lookup
          ? this.#x.sql('SELECT * FROM dataset_versions WHERE dataset_key = ? AND version_number = ?').get(datasetKey, lookup.versionNumber)
          : this.#x.sql(LATEST).get(datasetKey)
    ) as Row | undefined;
    return row ? toVersion(row) : null;
  }

  async list(datasetKey: string, q: VersionListQuery): Promise<DatasetVersion[]> {
    const rows = this.#x
      .sql(
        `SELECT * FROM dataset_versions WHERE dataset_key = ? AND version_number > ? AND version_number <= ?
         ORDER BY version_number ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(datasetKey, q.afterVersion ?? 0, q.throughVersion ?? Number.MAX_SAFE_INTEGER, q.limit) as Row[];
    return rows.map(toVersion);
  }

  async markPruned(datasetKey: string, versionNumber: number, at: Date): Promise<void> {
    this.#x
      .sql('UPDATE dataset_versions SET pruned_at = ? WHERE dataset_key = ? AND version_number = ? AND pruned_at IS NULL')
      .run(ms(at), datasetKey, versionNumber);
  }
}
