import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBTypeId, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { NativeFormat, ResolvedQuery } from '@ferry/core';
import { compileQuery, quoteIdent, quoteLiteral } from '@ferry/query-sql';

/** The formats this source can write itself. */
export const NATIVE_FORMATS = ['csv', 'jsonl', 'parquet'] as const satisfies readonly NativeFormat[];

function writesItself(format: NativeFormat): format is (typeof NATIVE_FORMATS)[number] {
  return (NATIVE_FORMATS as readonly NativeFormat[]).includes(format);
}

/**
 * Pushdown for DuckDB. Parquet is DuckDB's own writer: for the column types below, its file reads
 * back with the same types and values as the Arrow path's through @ferry/format-parquet. For
 * csv and jsonl, each output line is built in SQL exactly as the Arrow path would encode it
 * (see README, "Pushdown"), DuckDB's multithreaded COPY writes the lines to a temp file, and the
 * file is streamed back (then deleted). Lines are built in SQL rather than left to DuckDB's CSV/JSON
 * writers because those differ from Ferry's encodings (DuckDB quotes any field with `#`, prints
 * doubles in its own shortest form, escapes JSON control characters in upper case, ...).
 *
 * Columns whose text cannot match byte for byte give null (the engine then uses the Arrow path):
 * FLOAT/DOUBLE (DuckDB's shortest text switches to exponent form at other magnitudes than
 * JavaScript's) and anything beyond integers, decimals, booleans, text, dates and timestamps.
 */

type Fragment = (column: string) => string;

const text: Fragment = (c) => `CAST(${c} AS VARCHAR)`;
const timestamp: Fragment = (c) => `replace(CAST(${c} AS VARCHAR), ' ', 'T')`;
// TIMESTAMPTZ holds UTC; as a plain TIMESTAMP it prints the UTC wall time.
const timestamptz: Fragment = (c) => `replace(CAST(CAST(${c} AS TIMESTAMP) AS VARCHAR), ' ', 'T') || 'Z'`;

/** RFC 4180 quoting as @ferry/format-csv does it: only when the field holds `,`, `"`, CR or LF; '' is `""`. */
const csvString: Fragment = (c) =>
  `CASE WHEN ${c} = '' OR contains(${c}, ',') OR contains(${c}, '"') OR contains(${c}, chr(13)) OR contains(${c}, chr(10)) ` +
  `THEN '"' || replace(${c}, '"', '""') || '"' ELSE ${c} END`;

/** JSON string as @ferry/format-jsonl writes it: lower-case \u00XX escapes, U+2028/U+2029 escaped. */
const jsonString: Fragment = (c) => {
  let sql = `CAST(to_json(CAST(${c} AS VARCHAR)) AS VARCHAR)`;
  for (const code of [0x0b, 0x0e, 0x0f, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f]) {
    const upper = `\\u00${code.toString(16).toUpperCase().padStart(2, '0')}`;
    sql = `replace(${sql}, ${quoteLiteral(upper)}, ${quoteLiteral(upper.toLowerCase())})`;
  }
  return `replace(replace(${sql}, chr(8232), '\\u2028'), chr(8233), '\\u2029')`;
};
const quoted = (inner: Fragment): Fragment => (c) => `'"' || ${inner(c)} || '"'`;

const INTEGERS: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.DECIMAL,
]);

/**
 * Types whose Parquet columns DuckDB writes as the Arrow path + arrow-rs do (INT32/INT64 with their
 * width, DOUBLE, BOOLEAN, UTF8, DATE, DECIMAL(p, s), TIMESTAMP micros, UTC-adjusted when zoned).
 * Others differ (HUGEINT is DECIMAL(38, 0) on the Arrow path, BLOB text) or are not proven here.
 */
const PARQUET_TYPES: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_TZ,
]);

function fragment(type: DuckDBType, format: 'csv' | 'jsonl'): Fragment | null {
  const id = type.typeId;
  if (INTEGERS.has(id) || id === DuckDBTypeId.BOOLEAN) return text;
  switch (id) {
    case DuckDBTypeId.VARCHAR:
      return format === 'csv' ? csvString : jsonString;
    case DuckDBTypeId.DATE:
      return format === 'csv' ? text : quoted(text);
    case DuckDBTypeId.TIMESTAMP:
      return format === 'csv' ? timestamp : quoted(timestamp);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return format === 'csv' ? timestamptz : quoted(timestamptz);
    default:
      return null;
  }
}

/** The SQL of one output line per row, or null when a column cannot match the Arrow path. */
function lineSql(columns: ReadonlyArray<{ name: string; type: DuckDBType }>, format: 'csv' | 'jsonl'): string | null {
  const parts: string[] = [];
  for (const [i, column] of columns.entries()) {
    const f = fragment(column.type, format);
    if (!f) return null;
    const value = `coalesce(${f(quoteIdent(column.name))}, ${format === 'csv' ? "''" : "'null'"})`;
    if (format === 'csv') parts.push(...(i > 0 ? ["','"] : []), value);
    else parts.push(quoteLiteral(`${i === 0 ? '{' : ','}${JSON.stringify(column.name)}:`), value);
  }
  if (format === 'jsonl') parts.push("'}'");
  return parts.join(' || ');
}

export interface PlannedCopy {
  /** Bytes before the file: the CSV header (names are identifiers: never quoted). */
  preamble: Uint8Array;
  /** The file holds finished text lines inside DuckDB's CSV quoting (see unwrap.ts), not the export itself. */
  lines: boolean;
  run(connection: DuckDBConnection): Promise<{ file: string; rows: number; cleanup: () => Promise<void> }>;
}

/**
 * Plan the COPY for `query`, or null when `format` is not one this source writes or a column
 * cannot read back as the Arrow path's. The temp file goes under `scratchDir` (the source's own,
 * swept after a crash), not the OS temp dir.
 */
export async function planCopy(connection: DuckDBConnection, query: ResolvedQuery, format: NativeFormat, scratchDir: string): Promise<PlannedCopy | null> {
  if (!writesItself(format)) return null;
  const { sql, params } = compileQuery(query, 'duckdb');
  const prepared = await connection.prepare(sql);
  const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({ name: prepared.columnName(i), type: prepared.columnType(i) }));
  prepared.destroySync();
  const copyTo = (select: string, to: string) => async (conn: DuckDBConnection) => {
    const dir = await mkdtemp(join(scratchDir, 'copy-'));
    const cleanup = () => rm(dir, { recursive: true, force: true });
    try {
      const file = join(dir, `export.${format}`);
      // An export asked for in no order (`orderBy: null`) need not keep the scan's: DuckDB then
      // cuts the dataset's row cap without ordering the parallel scan (1.5-2x faster measured).
      // The setting lasts as long as this connection, which is this export's alone.
      if (query.orderBy.length === 0) await conn.run('SET SESSION preserve_insertion_order = false');
      const result = await conn.runAndReadAll(`COPY (${select}) TO ${quoteLiteral(file)} (${to})`, params);
      return { file, rows: Number(result.getRows()[0]?.[0] ?? 0), cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  };
  if (format === 'parquet') {
    if (!columns.every((c) => PARQUET_TYPES.has(c.type.typeId))) return null;
    // zstd as @ferry/format-parquet's default; DuckDB's row groups are the writer's default size.
    return { preamble: new Uint8Array(0), lines: false, run: copyTo(sql, 'FORMAT parquet, COMPRESSION zstd') };
  }
  const line = lineSql(columns, format);
  if (!line) return null;
  const header = format === 'csv' ? `${columns.map((c) => c.name).join(',')}\n` : '';
  return {
    preamble: new TextEncoder().encode(header),
    lines: true,
    // One VARCHAR column of finished lines; see unwrap.ts for what DuckDB's CSV writer adds.
    run: copyTo(`SELECT ${line} FROM (\n${sql}\n) AS ${quoteIdent('ferry_export')}`, `FORMAT csv, HEADER false, DELIMITER '\u0001', QUOTE '\u0002', ESCAPE '\u0002'`),
  };
}

export function fileChunks(file: string): AsyncIterable<Uint8Array> {
  return createReadStream(file, { highWaterMark: 1 << 20 });
}
