import { makeVector, type Data } from 'apache-arrow';

/**
 * JSON text of an arbitrary Arrow value as returned by `Vector.get` (lists, structs, maps, binary,
 * intervals ...). This is the slow, per-value fallback for types without a column encoder: nested
 * values become JSON arrays/objects, 64-bit integers keep all digits, binary becomes base64.
 */
export function jsonValueText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : String(value);
      return value !== value ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"';
    case 'string':
      return jsonString(value);
    case 'object':
      break;
    default:
      return jsonString(String(value));
  }
  if (value instanceof Date) return jsonString(value.toISOString());
  if (value instanceof Uint8Array) return jsonString(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  if (value instanceof Map) {
    const parts: string[] = [];
    for (const [k, v] of value) parts.push(`${jsonString(String(k))}:${jsonValueText(v)}`);
    return `{${parts.join(',')}}`;
  }
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return `[${Array.from(value as ArrayLike<unknown>, jsonValueText).join(',')}]`;
  }
  const withJson = value as { toJSON?: () => unknown; toArray?: () => ArrayLike<unknown> };
  // Arrow Vectors (list items) expose toArray; StructRow/MapRow expose toJSON returning a plain object.
  if (typeof withJson.toArray === 'function') return `[${Array.from(withJson.toArray(), jsonValueText).join(',')}]`;
  const plain = typeof withJson.toJSON === 'function' ? withJson.toJSON() : value;
  if (plain instanceof Map || Array.isArray(plain)) return jsonValueText(plain);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(plain as Record<string, unknown>)) parts.push(`${jsonString(k)}:${jsonValueText(v)}`);
  return `{${parts.join(',')}}`;
}

/**
 * A JSON string literal. JSON.stringify already escapes lone surrogates (`\udc00`, well-formed
 * JSON.stringify); U+2028/U+2029 are escaped as well because older JavaScript parsers reject them raw.
 */
export function jsonString(text: string): string {
  return JSON.stringify(text).replace(/[\u2028\u2029]/g, (ch) => (ch === '\u2028' ? '\\u2028' : '\\u2029'));
}

/**
 * Per-row text (null for NULL) of a column without a dedicated encoder. `json`: every value as JSON
 * text (JSONL writes it raw). `raw`: top-level strings, binary (base64) and dates as plain text and
 * everything else as JSON text (CSV writes it as a string cell).
 */
export function fallbackTexts(data: Data, mode: 'json' | 'raw'): (string | null)[] {
  const vector = makeVector(data);
  const out: (string | null)[] = new Array<string | null>(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = vector.get(i);
    if (v === null || v === undefined) out[i] = null;
    else if (mode === 'json') out[i] = jsonValueText(v);
    else if (typeof v === 'string') out[i] = v;
    else if (v instanceof Uint8Array) out[i] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    else if (v instanceof Date) out[i] = v.toISOString();
    else out[i] = jsonValueText(v);
  }
  return out;
}
