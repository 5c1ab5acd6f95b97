import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { FerryError } from '@ferry/core';
import type { DeltaCounts, FetchedFile, SyncPosition, SyncTarget } from './target.js';

/** One row per synced table: which dataset it copies and the cursor its rows are at. */
const STATE_TABLE = '_ferry_sync';

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * A DuckDB database file holding the dataset as a table, and its cursor in `_ferry_sync` of the
 * same file. Every change runs in one DuckDB transaction with the cursor's update: DuckDB writes a
 * transaction to its WAL only at COMMIT, so a process killed mid-apply leaves the last committed
 * rows and cursor, and the next run starts from there (deltas are idempotent per key anyway).
 */
export async function openDuckDbTarget(file: string, table: string): Promise<SyncTarget> {
  let db: DuckDBInstance;
  try {
    db = await DuckDBInstance.create(file);
  } catch (err) {
    const message = (err as Error).message;
    if (/lock/i.test(message)) throw new FerryError('CONFLICT', `${file} is open in another process (another ferry sync?); DuckDB allows one writer`, { cause: err });
    throw new FerryError('INVALID_OPTIONS', `cannot open ${file} as a DuckDB database: ${message}`, { cause: err });
  }
  const c = await db.connect();
  await c.run(
    `CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (table_name VARCHAR NOT NULL, dataset VARCHAR NOT NULL, cursor VARCHAR NOT NULL, version_number BIGINT NOT NULL, row_count BIGINT NOT NULL, synced_at TIMESTAMPTZ NOT NULL)`,
  );
  return new DuckDbTarget(db, c, file, table);
}

class DuckDbTarget implements SyncTarget {
  readonly description: string;

  constructor(
    private readonly db: DuckDBInstance,
    private readonly c: DuckDBConnection,
    file: string,
    private readonly table: string,
  ) {
    this.description = `table ${table} in ${file}`;
  }

  async position(): Promise<SyncPosition | null> {
    const rows = (
      await this.c.runAndReadAll(
        `SELECT s.dataset, s.cursor, s.version_number FROM ${STATE_TABLE} s
         WHERE s.table_name = $1 AND EXISTS (SELECT 1 FROM duckdb_tables() t WHERE t.table_name = $1 AND t.schema_name = current_schema())`,
        [this.table],
      )
    ).getRowsJS();
    const row = rows[0];
    return row ? { dataset: String(row[0]), cursor: String(row[1]), version: Number(row[2]) } : null;
  }

  async loadSnapshot(snapshot: FetchedFile): Promise<void> {
    await this.#transaction(async () => {
      // The table takes the snapshot's Parquet types as they are (DECIMAL(p,s), DATE, TIMESTAMP...).
      await this.c.run(`CREATE OR REPLACE TABLE ${ident(this.table)} AS SELECT * FROM read_parquet(${literal(snapshot.path)})`);
      const rows = await this.rowCount();
      if (rows !== snapshot.rows) throw mismatch('snapshot', rows, snapshot.rows);
      await this.#store(snapshot.position, rows);
    });
  }

  async applyDelta(delta: FetchedFile, primaryKey: readonly string[]): Promise<DeltaCounts | 'schema-changed'> {
    const source = `read_parquet(${literal(delta.path)})`;
    if (!(await this.#sameColumns(source))) return 'schema-changed';
    const counts: DeltaCounts = { insert: 0, update: 0, delete: 0 };
    for (const [op, n] of (await this.c.runAndReadAll(`SELECT op, count(*) FROM ${source} GROUP BY op`)).getRowsJS()) {
      if (op !== 'insert' && op !== 'update' && op !== 'delete') throw new FerryError('VALIDATION_FAILED', `the delta has an unknown op ${JSON.stringify(op)}`);
      counts[op] = Number(n);
    }
    const total = counts.insert + counts.update + counts.delete;
    if (total !== delta.rows) throw mismatch('delta', total, delta.rows);
    const t = ident(this.table);
    const sameKey = primaryKey.map((k) => `${t}.${ident(k)} = d.${ident(k)}`).join(' AND ');
    await this.#transaction(async () => {
      if (total > 0) {
        // Every changed key goes, then the rows that still exist come back: an upsert without a
        // unique index (DuckDB checks those eagerly within a transaction), and harmless twice.
        await this.c.run(`DELETE FROM ${t} USING ${source} AS d WHERE ${sameKey}`);
        await this.c.run(`INSERT INTO ${t} BY NAME SELECT * EXCLUDE (op) FROM ${source} WHERE op <> 'delete'`);
      }
      await this.#store(delta.position, await this.rowCount());
    });
    return counts;
  }

  async rowCount(): Promise<number> {
    const rows = (await this.c.runAndReadAll(`SELECT count(*) FROM ${ident(this.table)}`)).getRowsJS();
    return Number(rows[0]![0]);
  }

  async close(): Promise<void> {
    this.c.closeSync();
    this.db.closeSync();
  }

  /** The delta's columns (less `op`) are the table's, by name and type. */
  async #sameColumns(source: string): Promise<boolean> {
    const describe = async (relation: string) =>
      (await this.c.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`))
        .getRowsJS()
        .map((r) => `${String(r[0])} ${String(r[1])}`)
        .filter((c) => !c.startsWith('op '))
        .sort()
        .join(', ');
    return (await describe(source)) === (await describe(ident(this.table)));
  }

  async #store(position: SyncPosition, rows: number): Promise<void> {
    await this.c.run(`DELETE FROM ${STATE_TABLE} WHERE table_name = $1`, [this.table]);
    await this.c.run(`INSERT INTO ${STATE_TABLE} VALUES ($1, $2, $3, $4::BIGINT, $5::BIGINT, now())`, [
      this.table,
      position.dataset,
      position.cursor,
      position.version,
      rows,
    ]);
  }

  async #transaction(work: () => Promise<void>): Promise<void> {
    await this.c.run('BEGIN TRANSACTION');
    try {
      await work();
      await this.c.run('COMMIT');
    } catch (err) {
      await this.c.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

function mismatch(what: string, got: number, expected: number): FerryError {
  return new FerryError('VALIDATION_FAILED', `the ${what} holds ${got} rows but the server said ${expected} (Ferry-Row-Count); nothing was applied`);
}
