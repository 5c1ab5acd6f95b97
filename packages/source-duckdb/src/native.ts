import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBTypeId, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { NativeFormat, ResolvedQuery } from '@ferry/core';
import { compileQuery, quoteIdent, quoteLiteral } from '@ferry/query-sql';

/**
 * Pushdown for DuckDB: each output line is built in SQL exactly as the Arrow path would encode it
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

function fragment(type: DuckDBType, format: NativeFormat): Fragment | null {
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
function lineSql(columns: ReadonlyArray<{ name: string; type: DuckDBType }>, format: NativeFormat): string | null {
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
  run(connection: DuckDBConnection): Promise<{ file: string; rows: number; cleanup: () => Promise<void> }>;
}

/**
 * Plan the COPY for `query`, or null when its columns cannot match the Arrow path byte for byte.
 * The temp file goes under `scratchDir` (the source's own, swept after a crash), not the OS temp dir.
 */
export async function planCopy(connection: DuckDBConnection, query: ResolvedQuery, format: NativeFormat, scratchDir: string): Promise<PlannedCopy | null> {
  const { sql, params } = compileQuery(query, 'duckdb');
  const prepared = await connection.prepare(sql);
  const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({ name: prepared.columnName(i), type: prepared.columnType(i) }));
  prepared.destroySync();
  const line = lineSql(columns, format);
  if (!line) return null;
  const header = format === 'csv' ? `${columns.map((c) => c.name).join(',')}\n` : '';
  return {
    preamble: new TextEncoder().encode(header),
    async run(conn) {
      const dir = await mkdtemp(join(scratchDir, 'copy-'));
      const cleanup = () => rm(dir, { recursive: true, force: true });
      try {
        const file = join(dir, `export.${format}`);
        // One VARCHAR column of finished lines; see unwrap.ts for what DuckDB's CSV writer adds.
        const copy =
          `COPY (SELECT ${line} FROM (\n${sql}\n) AS ${quoteIdent('ferry_export')}) TO ${quoteLiteral(file)} ` +
          `(FORMAT csv, HEADER false, DELIMITER '\u0001', QUOTE '\u0002', ESCAPE '\u0002')`;
        const result = await conn.runAndReadAll(copy, params);
        return { file, rows: Number(result.getRows()[0]?.[0] ?? 0), cleanup };
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  };
}

export function fileChunks(file: string): AsyncIterable<Uint8Array> {
  return createReadStream(file, { highWaterMark: 1 << 20 });
}
