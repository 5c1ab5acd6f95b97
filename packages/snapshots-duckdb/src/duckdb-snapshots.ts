import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { FerryError, isFerryError, type CounterValue, type DiffStats, type RowStream, type SnapshotEngine } from '@ferry/core';
import { ident, keyJoin, keyList, literal, parquet } from './sql.js';
import { readParquetFile } from './read.js';
import { OwnedScratch } from '@ferry/core';

const PLUGIN = 'snapshots:duckdb';
/** Internal column names; the catalog's column names are identifiers without this prefix in practice. */
const PRESENT = '__ferry_present';
const ORDER = '__ferry_v';
const FIRST = '__ferry_first';
const LAST = '__ferry_last';
/** DuckDB's ways of saying the disk is full (see @ferry/source-duckdb's errors.ts). */
const DISK_FULL = /No space left on device|Disk quota exceeded|max_temp_directory_size|failed to offload data block/i;

export interface DuckDBSnapshotOptions {
  /** DuckDB's memory_limit (e.g. `512MB`): joins and sorts beyond it spill to `tempDirectory`. */
  memoryLimit?: string;
  threads?: number;
  /**
   * Where DuckDB spills: in a directory of this instance's own under it (instances sharing one
   * spill directory corrupt each other's files), swept after a crash (see OwnedScratch).
   * Default DuckDB's own (`.tmp` next to the database, here the process cwd).
   */
  tempDirectory?: string;
}

interface Column {
  name: string;
  type: string;
}

/**
 * SnapshotEngine on an in-memory DuckDB: every operation is one SQL statement from Parquet files
 * to a Parquet file (`COPY (...) TO`), so rows never enter JS and DuckDB bounds the memory
 * (it spills joins, windows and sorts past `memoryLimit`).
 */
export class DuckDBSnapshotEngine implements SnapshotEngine {
  readonly #instance: DuckDBInstance;
  readonly #scratch: OwnedScratch | null;

  private constructor(instance: DuckDBInstance, scratch: OwnedScratch | null) {
    this.#instance = instance;
    this.#scratch = scratch;
  }

  static async create(options: DuckDBSnapshotOptions = {}): Promise<DuckDBSnapshotEngine> {
    const config: Record<string, string> = {};
    if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
    if (options.threads) config['threads'] = String(options.threads);
    const scratch = options.tempDirectory
      ? await OwnedScratch.create(options.tempDirectory, { prefix: 'snapshots-', legacy: (name) => name.startsWith('duckdb_temp_') })
      : null;
    if (scratch) config['temp_directory'] = scratch.path;
    // Insertion order is not needed (every output is ordered by key) and costs memory in COPY.
    config['preserve_insertion_order'] = 'false';
    try {
      return new DuckDBSnapshotEngine(await DuckDBInstance.create(':memory:', config), scratch);
    } catch (err) {
      await scratch?.close();
      throw err;
    }
  }

  /** Where this instance spills; null for DuckDB's default. */
  get spillDirectory(): string | null {
    return this.#scratch?.path ?? null;
  }

  async diff(prev: string | null, next: string, primaryKey: readonly string[], out: string): Promise<DiffStats> {
    return this.#with(async (c) => {
      const columns = await describe(c, next);
      checkKey(columns, primaryKey, next);
      const rows = await checkUniqueKey(c, next, primaryKey);
      if (prev === null) {
        await c.run(`COPY (SELECT 'insert' AS op, * FROM ${parquet(next)} LIMIT 0) TO ${literal(out)} (FORMAT parquet)`);
        return { changed: rows, rows };
      }
      const before = await describe(c, prev);
      if (before.map((col) => `${col.name} ${col.type}`).join() !== columns.map((col) => `${col.name} ${col.type}`).join()) {
        throw new FerryError('UNSUPPORTED', `the dataset's columns changed since the previous version (${before.map((x) => x.name).join(', ')} -> ${columns.map((x) => x.name).join(', ')}); a delta needs the same columns`, { plugin: PLUGIN });
      }
      const keys = new Set(primaryKey);
      const select = columns.map((col) => (keys.has(col.name) ? `COALESCE(n.${ident(col.name)}, p.${ident(col.name)}) AS ${ident(col.name)}` : `n.${ident(col.name)}`));
      const changed = columns.filter((col) => !keys.has(col.name)).map((col) => `n.${ident(col.name)} IS DISTINCT FROM p.${ident(col.name)}`);
      const sql = `COPY (
        SELECT CASE WHEN p.${PRESENT} IS NULL THEN 'insert' WHEN n.${PRESENT} IS NULL THEN 'delete' ELSE 'update' END AS op, ${select.join(', ')}
        FROM (SELECT *, TRUE AS ${PRESENT} FROM ${parquet(next)}) n
        FULL OUTER JOIN (SELECT *, TRUE AS ${PRESENT} FROM ${parquet(prev)}) p ON ${keyJoin(primaryKey, 'n', 'p')}
        WHERE p.${PRESENT} IS NULL OR n.${PRESENT} IS NULL OR ${changed.length ? `(${changed.join(' OR ')})` : 'FALSE'}
        ORDER BY ${primaryKey.map((k) => ident(k)).join(', ')}
      ) TO ${literal(out)} (FORMAT parquet)`;
      return { changed: await copied(c, sql), rows };
    });
  }

  async coalesce(deltas: readonly string[], primaryKey: readonly string[], out: string): Promise<{ rows: number }> {
    if (deltas.length === 0) throw new FerryError('INTERNAL', 'coalesce needs at least one delta', { plugin: PLUGIN });
    return this.#with(async (c) => {
      const columns = (await describe(c, deltas[deltas.length - 1]!)).filter((col) => col.name !== 'op');
      checkKey(columns, primaryKey, deltas[0]!);
      const unioned = deltas.map((file, i) => `SELECT ${i} AS ${ORDER}, * FROM ${parquet(file)}`).join(' UNION ALL BY NAME ');
      const partition = `PARTITION BY ${keyList(primaryKey)}`;
      // Did the key exist before the first delta (its first op is not an insert) and after the
      // last (its last op is not a delete)? That decides the net op; the last row has the values.
      const sql = `COPY (
        SELECT CASE WHEN ${FIRST} = 'insert' THEN 'insert' WHEN op = 'delete' THEN 'delete' ELSE 'update' END AS op,
               ${columns.map((col) => ident(col.name)).join(', ')}
        FROM (
          SELECT *, first_value(op) OVER (${partition} ORDER BY ${ORDER}) AS ${FIRST},
                    row_number() OVER (${partition} ORDER BY ${ORDER} DESC) AS ${LAST}
          FROM (${unioned})
        )
        WHERE ${LAST} = 1 AND NOT (${FIRST} = 'insert' AND op = 'delete')
        ORDER BY ${keyList(primaryKey)}
      ) TO ${literal(out)} (FORMAT parquet)`;
      return { rows: await copied(c, sql) };
    });
  }

  async empty(like: string, out: string): Promise<void> {
    await this.#with((c) => c.run(`COPY (SELECT * FROM ${parquet(like)} LIMIT 0) TO ${literal(out)} (FORMAT parquet)`));
  }

  async counters(file: string, expressions: Readonly<Record<string, string>>): Promise<Record<string, CounterValue>> {
    const names = Object.keys(expressions);
    if (names.length === 0) return {};
    return this.#with(async (c) => {
      const result: Record<string, CounterValue> = {};
      // One statement per counter, so a bad expression is reported by name.
      for (const name of names) {
        const reader = await c.runAndReadAll(`SELECT ${expressions[name]} FROM ${parquet(file)}`).catch((err: unknown) => {
          throw new FerryError('INVALID_CONFIG', `counter "${name}" failed: ${message(err)}`, { plugin: PLUGIN, path: ['versioning', 'counters', name] });
        });
        const rows = reader.getRowsJS();
        if (rows.length !== 1 || rows[0]!.length !== 1) {
          throw new FerryError('INVALID_CONFIG', `counter "${name}" must be one aggregate expression (one value)`, { plugin: PLUGIN, path: ['versioning', 'counters', name] });
        }
        result[name] = toCounterValue(rows[0]![0]);
      }
      return result;
    });
  }

  read(file: string, opts: { signal: AbortSignal; batchRows?: number }): Promise<RowStream> {
    return readParquetFile(file, opts);
  }

  async close(): Promise<void> {
    this.#instance.closeSync();
    await this.#scratch?.close();
  }

  async #with<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.#instance.connect();
    try {
      return await fn(connection);
    } catch (err) {
      if (isFerryError(err)) throw err;
      if (DISK_FULL.test(message(err))) {
        throw new FerryError('STORAGE_FULL', 'disk full: the snapshot engine ran out of disk space for its files or temporary files', { plugin: PLUGIN, retryable: true, cause: err });
      }
      throw new FerryError('QUERY_FAILED', `snapshot operation failed: ${message(err)}`, { plugin: PLUGIN, cause: err });
    } finally {
      connection.closeSync();
    }
  }
}

async function describe(c: DuckDBConnection, file: string): Promise<Column[]> {
  const reader = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${parquet(file)}`);
  return reader.getRowsJS().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
}

function checkKey(columns: readonly Column[], primaryKey: readonly string[], file: string): void {
  if (primaryKey.length === 0) throw new FerryError('VALIDATION_FAILED', 'a primary key needs at least one column', { plugin: PLUGIN, path: ['primaryKey'] });
  const names = new Set(columns.map((c) => c.name));
  primaryKey.forEach((k, i) => {
    if (!names.has(k)) throw new FerryError('VALIDATION_FAILED', `primary key column "${k}" is not in ${file}`, { plugin: PLUGIN, path: ['primaryKey', i] });
  });
}

/** A delta is only meaningful if each key names one row: count rows, distinct keys and NULL keys. */
async function checkUniqueKey(c: DuckDBConnection, file: string, primaryKey: readonly string[]): Promise<number> {
  const nullKey = primaryKey.map((k) => `${ident(k)} IS NULL`).join(' OR ');
  const reader = await c.runAndReadAll(
    `SELECT count(*), count(DISTINCT (${keyList(primaryKey)})), count(*) FILTER (WHERE ${nullKey}) FROM ${parquet(file)}`,
  );
  const [rows, keys, nulls] = reader.getRowsJS()[0]!.map(Number) as [number, number, number];
  if (nulls > 0) throw new FerryError('VALIDATION_FAILED', `${nulls} row(s) have a NULL primary key (${primaryKey.join(', ')})`, { path: ['primaryKey'] });
  if (keys !== rows) {
    throw new FerryError('VALIDATION_FAILED', `the primary key (${primaryKey.join(', ')}) is not unique: ${rows - keys} duplicate row(s)`, { path: ['primaryKey'] });
  }
  return rows;
}

/** Run a COPY and return how many rows it wrote. */
async function copied(c: DuckDBConnection, sql: string): Promise<number> {
  const reader = await c.runAndReadAll(sql);
  return Number(reader.getRowsJS()[0]?.[0] ?? 0);
}

function toCounterValue(value: unknown): CounterValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
