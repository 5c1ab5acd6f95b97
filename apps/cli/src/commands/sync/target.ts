/** Where a dataset version stands: the cursor the next `deltas?since=` call starts from. */
export interface SyncPosition {
  dataset: string;
  cursor: string;
  version: number;
}

export interface DeltaCounts {
  insert: number;
  update: number;
  delete: number;
}

/** A downloaded file and what the answer's headers said it holds. */
export interface FetchedFile {
  path: string;
  position: SyncPosition;
  /** `Ferry-Row-Count`: the target checks the file against it before applying anything. */
  rows: number;
}

/**
 * A local copy of a dataset. Each change (a snapshot loaded, a delta applied) and the position it
 * brings the copy to are stored in one atomic step, so a copy interrupted anywhere (even by
 * SIGKILL) holds either the old rows and the old cursor or the new rows and the new cursor.
 */
export interface SyncTarget {
  /** For messages: e.g. `table fees in ./fees.duckdb`. */
  readonly description: string;
  /** The stored position, or null when the copy was never seeded (or its table is gone). */
  position(): Promise<SyncPosition | null>;
  /** Replace the table with the snapshot's rows and store its position. */
  loadSnapshot(snapshot: FetchedFile): Promise<void>;
  /**
   * Upsert the delta's `insert`/`update` rows and delete its `delete` keys by primary key, and
   * store its position; `schema-changed` (nothing applied) when the delta's columns are not the
   * table's, so the caller re-seeds.
   */
  applyDelta(delta: FetchedFile, primaryKey: readonly string[]): Promise<DeltaCounts | 'schema-changed'>;
  rowCount(): Promise<number>;
  close(): Promise<void>;
}
