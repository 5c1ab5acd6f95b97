import { DuckDBTypeId, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { NativeFormat, ResolvedQuery } from '@ferry/core';
import { compileQuery, quoteIdent, quoteLiteral } from '@ferry/query-sql';

/** The formats this source can write itself. */
export const NATIVE_FORMATS = ['csv', 'jsonl', 'parquet'] as const satisfies readonly NativeFormat[];

function writesItself(format: NativeFormat): format is (typeof NATIVE_FORMATS)[number] {
  return (NATIVE_FORMATS as readonly NativeFormat[]).includes(format);
}

/**
 * Pushdown for DuckDB: DuckDB's own writers (its parallel COPY), for files that read back as the
 * Arrow path's through Ferry's default writers: the same columns, types, rows and values.
 *
 * Parquet is written as is, for the column types below. CSV and JSON Lines go through a projection
 * that puts each value in Ferry's layout where DuckDB's differs in meaning or in what a reader
 * infers from it: timestamps `T`-separated (UTC ones with `Z`, as ISO 8601 wants, where DuckDB
 * prints `+00`), and non-finite doubles as `NaN`/`Infinity` (JSON: the strings `"NaN"`, ...; DuckDB
 * would write bare `NaN`, which is not JSON). The rest is DuckDB's text: numbers in their shortest
 * round-trip form (a double 1 may read `1.0`), strings quoted and escaped by its rules (any quoting
 * a CSV reader undoes, JSON escapes in either case). A column of another type gives null (the
 * engine then uses the Arrow path).
 */

type Projection = (column: string) => string;

const asIs: Projection = (c) => c;
const timestamp: Projection = (c) => `replace(CAST(${c} AS VARCHAR), ' ', 'T')`;
// TIMESTAMPTZ holds UTC; as a plain TIMESTAMP it prints the UTC wall time.
const timestamptz: Projection = (c) => `replace(CAST(CAST(${c} AS TIMESTAMP) AS VARCHAR), ' ', 'T') || 'Z'`;
const nonFinite = (c: string, text: (word: string) => string, finite: string): string =>
  `CASE WHEN isnan(${c}) THEN ${text('NaN')} WHEN ${c} = 'infinity'::DOUBLE THEN ${text('Infinity')} ` +
  `WHEN ${c} = '-infinity'::DOUBLE THEN ${text('-Infinity')} ELSE ${finite} END`;
const csvDouble: Projection = (c) => nonFinite(c, quoteLiteral, `CAST(${c} AS VARCHAR)`);
// A JSON-typed column is written as raw JSON: a number, or a string for the non-finite ones.
const jsonDouble: Projection = (c) => nonFinite(c, (word) => `${quoteLiteral(JSON.stringify(word))}::JSON`, `to_json(${c})`);

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

function projection(type: DuckDBType, format: 'csv' | 'jsonl'): Projection | null {
  const id = type.typeId;
  if (INTEGERS.has(id)) return asIs;
  switch (id) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.DATE:
      return asIs;
    case DuckDBTypeId.DOUBLE:
      return format === 'csv' ? csvDouble : jsonDouble;
    case DuckDBTypeId.TIMESTAMP:
      return timestamp;
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestamptz;
    default:
      return null;
  }
}

/** The SELECT list in Ferry's layout, or null when a column cannot read back as the Arrow path's. */
function selectList(columns: ReadonlyArray<{ name: string; type: DuckDBType }>, format: 'csv' | 'jsonl'): string | null {
  const items: string[] = [];
  for (const column of columns) {
    const project = projection(column.type, format);
    if (!project) return null;
    const name = quoteIdent(column.name);
    items.push(project === asIs ? name : `${project(name)} AS ${name}`);
  }
  return items.join(', ');
}

export interface PlannedCopy {
  /** Bytes before the file: the CSV header (names are identifiers: never quoted). */
  preamble: Uint8Array;
  /** The COPY statement writing the export to `file`; its result is the row count. */
  sql(file: string): string;
  params: ReturnType<typeof compileQuery>['params'];
}

/**
 * Plan the COPY for `query`, or null when `format` is not one this source writes or a column
 * cannot read back as the Arrow path's.
 */
export async function planCopy(connection: DuckDBConnection, query: ResolvedQuery, format: NativeFormat): Promise<PlannedCopy | null> {
  if (!writesItself(format)) return null;
  const { sql, params } = compileQuery(query, 'duckdb');
  const prepared = await connection.prepare(sql);
  const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({ name: prepared.columnName(i), type: prepared.columnType(i) }));
  prepared.destroySync();
  // USE_TMP_FILE false: DuckDB writes straight into the named pipe it is given (see fifo.ts).
  const copy = (select: string, options: string) => (file: string) => `COPY (${select}) TO ${quoteLiteral(file)} (${options}, USE_TMP_FILE false)`;
  if (format === 'parquet') {
    if (!columns.every((c) => PARQUET_TYPES.has(c.type.typeId))) return null;
    // zstd as @ferry/format-parquet's default; DuckDB's row groups are the writer's default size.
    return { preamble: new Uint8Array(0), sql: copy(sql, 'FORMAT parquet, COMPRESSION zstd'), params };
  }
  const list = selectList(columns, format);
  if (list === null) return null;
  const select = `SELECT ${list} FROM (\n${sql}\n) AS ${quoteIdent('ferry_export')}`;
  if (format === 'jsonl') return { preamble: new Uint8Array(0), sql: copy(select, 'FORMAT json'), params };
  return {
    preamble: new TextEncoder().encode(`${columns.map((c) => c.name).join(',')}\n`),
    sql: copy(select, 'FORMAT csv, HEADER false'),
    params,
  };
}
