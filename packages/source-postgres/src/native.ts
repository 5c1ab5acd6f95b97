import { to as copyTo } from 'pg-copy-streams';
import type { NativeExport, NativeFormat, ResolvedQuery } from '@ferry/core';
import { quoteIdent, quoteLiteral } from '@ferry/query-sql';
import { OID, type PgField } from './columns.js';
import { beginCopy, commitCopy, rollbackCopy } from './copy-transaction.js';
import { Session } from './session.js';

/**
 * Pushdown: `COPY (...) TO STDOUT` writes the file in the server, and the bytes must equal what
 * the Arrow path (this source's `open` + the default format writers) produces. Each output column
 * is wrapped in an expression that prints it as that path would (see README, "Pushdown"; float8
 * is re-laid-out from PostgreSQL's shortest text into JavaScript's notation); queries with a
 * column that cannot match byte for byte (float4) get null, and the engine uses `open`.
 *
 * The query's values travel as transaction-local settings (see copy-transaction.ts).
 */

/** The formats PostgreSQL can write itself with `COPY ... TO STDOUT`. */
export const NATIVE_FORMATS = ['csv', 'jsonl'] as const;

type Fragment = (column: string) => string;

const BOOL_TEXT: Fragment = (c) => `CASE WHEN ${c} THEN 'true' WHEN NOT ${c} THEN 'false' END`;
const TIMESTAMP_TEXT: Fragment = (c) => `replace(CAST(${c} AS text), ' ', 'T')`;
const TIMESTAMPTZ_TEXT: Fragment = (c) => `replace(CAST(${c} AT TIME ZONE 'UTC' AS text), ' ', 'T') || 'Z'`;

/**
 * A float8 as JavaScript's Number#toString prints it. Both PostgreSQL (Ryu) and V8 print the
 * shortest digits that round-trip, so only the notation differs: PostgreSQL switches to exponent
 * form below 1e-4 and from 1e15, JavaScript below 1e-6 and from 1e21, and writes `e+17` where
 * PostgreSQL writes `e+17` too but pads `e-05`. The digits and decimal exponent are taken from
 * PostgreSQL's own text and laid out the JavaScript way.
 */
const FLOAT8_JS_TEXT: Fragment = (c) => {
  const t = `CAST(${c} AS text)`;
  const digits = `replace(replace(split_part(${t}, 'e', 1), '-', ''), '.', '')`;
  const k = `length(${digits})`;
  // n: the position of the decimal point relative to the first digit (value = 0.d1d2... x 10^n).
  const n = `(CAST(nullif(split_part(${t}, 'e', 2), '') AS integer) + 1)`;
  const sign = `CASE WHEN starts_with(${t}, '-') THEN '-' ELSE '' END`;
  const fixed = `CASE WHEN ${n} >= ${k} THEN ${digits} || repeat('0', ${n} - ${k})
    WHEN ${n} > 0 THEN left(${digits}, ${n}) || '.' || substr(${digits}, ${n} + 1)
    ELSE '0.' || repeat('0', -${n}) || ${digits} END`;
  const exponent = `left(${digits}, 1) || CASE WHEN ${k} > 1 THEN '.' || substr(${digits}, 2) ELSE '' END
    || 'e' || CASE WHEN ${n} - 1 >= 0 THEN '+' ELSE '-' END || CAST(abs(${n} - 1) AS text)`;
  return `CASE WHEN position('e' in ${t}) = 0 THEN ${t}
    WHEN ${n} > -6 AND ${n} <= 21 THEN ${sign} || ${fixed}
    ELSE ${sign} || ${exponent} END`;
};

/** In JSON, the Arrow path writes the non-finite values as strings. */
const FLOAT8_JSON: Fragment = (c) =>
  `CASE WHEN CAST(${c} AS text) IN ('NaN', 'Infinity', '-Infinity') THEN '"' || CAST(${c} AS text) || '"' ELSE ${FLOAT8_JS_TEXT(c)} END`;

/** Types the Arrow path turns into something other than their PostgreSQL text, or cannot match. */
function csvFragment(field: PgField): Fragment | null {
  switch (field.dataTypeID) {
    case OID.float4:
      return null;
    case OID.float8:
      return FLOAT8_JS_TEXT;
    case OID.bool:
      return BOOL_TEXT;
    case OID.timestamp:
      return TIMESTAMP_TEXT;
    case OID.timestamptz:
      return TIMESTAMPTZ_TEXT;
    default:
      // Integers, numeric, dates (DateStyle ISO) and text print as the Arrow path prints them.
      return (c) => c;
  }
}

/** JSON text of a string, escaped as @ferry/format-jsonl does: to_json plus U+2028/U+2029. */
const jsonString: Fragment = (c) => `replace(replace(CAST(to_json(CAST(${c} AS text)) AS text), chr(8232), '\\u2028'), chr(8233), '\\u2029')`;
const quoted = (text: Fragment): Fragment => (c) => `'"' || ${text(c)} || '"'`;

function jsonFragment(field: PgField): Fragment | null {
  switch (field.dataTypeID) {
    case OID.float4:
      return null;
    case OID.float8:
      return FLOAT8_JSON;
    case OID.int2:
    case OID.int4:
    case OID.int8:
      return (c) => `CAST(${c} AS text)`;
    case OID.numeric:
      // Decimal128 in Arrow (a JSON number) only with a declared precision up to 38; else Utf8 text.
      return isArrowDecimal(field) ? (c) => `CAST(${c} AS text)` : jsonString;
    case OID.bool:
      return BOOL_TEXT;
    case OID.date:
      return quoted((c) => `CAST(${c} AS text)`);
    case OID.timestamp:
      return quoted(TIMESTAMP_TEXT);
    case OID.timestamptz:
      return quoted(TIMESTAMPTZ_TEXT);
    default:
      return jsonString;
  }
}

function isArrowDecimal(field: PgField): boolean {
  return field.dataTypeModifier >= 4 && ((field.dataTypeModifier - 4) >> 16) <= 38;
}

/** Single-column text files: COPY quotes a lone `\.` (its end-of-data marker); the Arrow path does not. */
const PLAIN_TEXT_OIDS: ReadonlySet<number> = new Set([OID.int2, OID.int4, OID.int8, OID.numeric, OID.bool, OID.date, OID.timestamp, OID.timestamptz]);

/** The COPY statement for `fields` over the query `inner`, or null when it cannot match the Arrow path. */
function copySql(inner: string, fields: readonly PgField[], format: NativeFormat): string | null {
  const from = `FROM (\n${inner}\n) AS ${quoteIdent('ferry_export')}`;
  if (format === 'csv') {
    if (fields.length === 1 && !PLAIN_TEXT_OIDS.has(fields[0]!.dataTypeID)) return null;
    const columns: string[] = [];
    for (const field of fields) {
      const fragment = csvFragment(field);
      if (!fragment) return null;
      columns.push(`${fragment(quoteIdent(field.name))} AS ${quoteIdent(field.name)}`);
    }
    return `COPY (SELECT ${columns.join(', ')} ${from}) TO STDOUT WITH (FORMAT csv, HEADER)`;
  }
  // No other format is written by PostgreSQL: the Arrow path encodes it.
  if (format !== 'jsonl') return null;
  const parts: string[] = [];
  for (const [i, field] of fields.entries()) {
    const fragment = jsonFragment(field);
    if (!fragment) return null;
    const key = `${i === 0 ? '{' : ','}${JSON.stringify(field.name)}:`;
    parts.push(quoteLiteral(key), `coalesce(${fragment(quoteIdent(field.name))}, 'null')`);
  }
  parts.push(quoteLiteral('}'));
  // One text column per line. CSV mode with control characters as delimiter and quote never
  // quotes or escapes it: JSON text has no raw control characters, CR or LF.
  return `COPY (SELECT ${parts.join(' || ')} ${from}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')`;
}

/**
 * Run the export on `session`. Returns null (nothing sent yet, the transaction rolled back) when
 * the query has a column that cannot match; otherwise the body owns the session and releases it.
 */
export async function exportCopy(session: Session, query: ResolvedQuery, format: NativeFormat): Promise<NativeExport | null> {
  const { sql, fields } = await beginCopy(session, query);
  const copy = copySql(sql, fields, format);
  if (!copy) {
    await rollbackCopy(session);
    return null;
  }
  let settle!: { resolve: (n: number) => void; reject: (err: unknown) => void };
  const rows = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
  rows.catch(() => undefined); // a caller that only reads `body` must not see an unhandled rejection
  return { body: copyBody(session, copy, settle), rows };
}

async function* copyBody(
  session: Session,
  sql: string,
  settle: { resolve: (n: number) => void; reject: (err: unknown) => void },
): AsyncGenerator<Uint8Array> {
  let done = false;
  try {
    session.checkpoint();
    const stream = session.client.query(copyTo(sql));
    const chunks = stream[Symbol.asyncIterator]();
    for (;;) {
      const next = await session.run(() => chunks.next());
      if (next.done) break;
      yield next.value as Uint8Array;
      session.checkpoint();
    }
    await commitCopy(session);
    done = true;
    settle.resolve(stream.rowCount);
  } catch (err) {
    settle.reject(err);
    throw err;
  } finally {
    if (!done) settle.reject(new Error('the export was not read to the end'));
    session.release(!done);
  }
}
