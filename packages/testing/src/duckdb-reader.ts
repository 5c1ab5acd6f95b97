import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { arrowStreamToParquet } from './arrow-ipc-reader.js';
import type { Comparable } from './fixture.js';

/**
 * How the output is read back: `csv` (header, `,`, RFC 4180), `json` (newline-delimited), `parquet`,
 * or `arrow` (an Arrow IPC stream, converted to Parquet by arrow-rs first; see arrow-ipc-reader.ts).
 */
export type ReaderKind = 'csv' | 'json' | 'parquet' | 'arrow';

/** Readers that carry types in the file: the suite checks the types DuckDB sees, not only values. */
export function isTypedReader(kind: ReaderKind): boolean {
  return kind === 'parquet' || kind === 'arrow';
}

export interface ReadColumn {
  name: string;
  duckType: string;
  select: string;
}

/** SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Reads files back with DuckDB, an independent reader, with the column types spelled out so that
 * the comparison is about values, not about type sniffing.
 *
 * CSV: `nullstr=''` plus `allow_quoted_nulls=false` makes an unquoted empty field NULL and a quoted
 * empty field (`""`) the empty string, so NULL and '' are told apart by DuckDB itself.
 */
export class DuckDbReader {
  #instance: DuckDBInstance | null = null;
  #conn: DuckDBConnection | null = null;

  async open(): Promise<void> {
    this.#instance = await DuckDBInstance.create(':memory:');
    this.#conn = await this.#instance.connect();
  }

  close(): void {
    this.#conn?.closeSync();
    this.#instance?.closeSync();
    this.#conn = null;
    this.#instance = null;
  }

  /** The table function reading `file`. Typed formats bring their own types; `arrow` needs `prepare` first. */
  source(kind: ReaderKind, file: string, columns: readonly ReadColumn[], opts: { header?: boolean } = {}): string {
    if (kind === 'parquet' || kind === 'arrow') return `read_parquet(${sqlString(file)})`;
    const spec = `{${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.duckType)}`).join(', ')}}`;
    if (kind === 'json') return `read_json(${sqlString(file)}, format='newline_delimited', columns=${spec})`;
    return (
      `read_csv(${sqlString(file)}, header=${opts.header ?? true}, columns=${spec}, auto_detect=false, ` +
      `delim=',', quote='"', escape='"', nullstr='', allow_quoted_nulls=false)`
    );
  }

  /** Rows of `select` expressions (one per column, `x` replaced by the column) in file order or by `orderBy`. */
  async read(kind: ReaderKind, file: string, columns: readonly ReadColumn[], orderBy?: string): Promise<Comparable[][]> {
    file = await this.prepare(kind, file);
    const exprs = columns.map((c) => c.select.replaceAll(/\bx\b/g, sqlIdent(c.name)));
    const sql = `SELECT ${exprs.join(', ')} FROM ${this.source(kind, file, columns)}${orderBy ? ` ORDER BY ${sqlIdent(orderBy)}` : ''}`;
    return this.query(sql);
  }

  /** The file DuckDB can read for `kind`: Arrow IPC streams are converted to Parquet by arrow-rs. */
  async prepare(kind: ReaderKind, file: string): Promise<string> {
    return kind === 'arrow' ? arrowStreamToParquet(file) : file;
  }

  /** Column names and DuckDB types of a typed file (Parquet, or Arrow via `prepare`). */
  async describe(kind: ReaderKind, file: string): Promise<Array<{ name: string; type: string }>> {
    const readable = await this.prepare(kind, file);
    const rows = await this.query(`DESCRIBE SELECT * FROM ${this.source(kind, readable, [])}`);
    return rows.map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  }

  async query(sql: string): Promise<Comparable[][]> {
    if (!this.#conn) throw new Error('DuckDbReader is not open');
    const reader = await this.#conn.runAndReadAll(sql);
    return reader.getRows() as Comparable[][];
  }
}

/** Run one query in a throwaway in-memory DuckDB: the independent reader for files our tests produce. */
export async function duckdbRows(sql: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRows();
  } finally {
    conn.closeSync();
  }
}
