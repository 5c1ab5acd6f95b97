import type { DatasetVersion, NewDatasetVersion, VersionListQuery, VersionLookup, VersionsPart } from '@ferry/core';
import { toVersion } from '../rows.js';
import type { Session } from '../session.js';

export class PostgresVersions implements VersionsPart {
  constructor(private readonly s: Session) {}

  private get table(): string {
    return this.s.t.versions;
  }

  async insert(v: NewDatasetVersion): Promise<boolean> {
    // One statement: insert only if this is the next version after the latest, chained to its
    // cursor. Two publishes racing both pass the check; the primary key makes the second a no-op.
    const changed = await this.s.changed(
      `WITH latest AS (
         SELECT version_number, cursor FROM ${this.table} WHERE dataset_key = $1 ORDER BY version_number DESC LIMIT 1
       )
       INSERT INTO ${this.table} (dataset_key, version_number, cursor, previous_cursor, changed_row_count, row_count, counters,
         published_at, snapshot_key, delta_key)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
       WHERE $2 = coalesce((SELECT version_number FROM latest), 0) + 1
         AND $4::text IS NOT DISTINCT FROM (SELECT cursor FROM latest)
       ON CONFLICT DO NOTHING`,
      [
        v.datasetKey,
        v.versionNumber,
        v.cursor,
        v.previousCursor,
        v.changedRowCount,
        v.rowCount,
        JSON.stringify(v.counters),
        v.publishedAt,
        v.snapshotKey,
        v.deltaKey,
      ],
    );
    return changed === 1;
  }

  async find(datasetKey: string, lookup: VersionLookup): Promise<DatasetVersion | null> {
    const row =
      'cursor' in lookup
        ? await this.s.one(`SELECT * FROM ${this.table} WHERE dataset_key = $1 AND cursor = $2`, [datasetKey, lookup.cursor])
        : 'versionNumber' in lookup
          ? await this.s.one(`SELECT * FROM ${this.table} WHERE dataset_key = $1 AND version_number = $2`, [datasetKey, lookup.versionNumber])
          : await this.s.one(`SELECT * FROM ${this.table} WHERE dataset_key = $1 ORDER BY version_number DESC LIMIT 1`, [datasetKey]);
    return row && toVersion(row);
  }

  async list(datasetKey: string, q: VersionListQuery): Promise<DatasetVersion[]> {
    const rows = await this.s.rows(
      `SELECT * FROM ${this.table}
       WHERE dataset_key = $1 AND ($2::integer IS NULL OR version_number > $2) AND ($3::integer IS NULL OR version_number <= $3)
       ORDER BY version_number ${q.order === 'asc' ? 'ASC' : 'DESC'}
       LIMIT $4`,
      [datasetKey, q.afterVersion ?? null, q.throughVersion ?? null, q.limit],
    );
    return rows.map(toVersion);
  }

  async markPruned(datasetKey: string, versionNumber: number, at: Date): Promise<void> {
    await this.s.run(`UPDATE ${this.table} SET pruned_at = $3 WHERE dataset_key = $1 AND version_number = $2 AND pruned_at IS NULL`, [
      datasetKey,
      versionNumber,
      at,
    ]);
  }
}
