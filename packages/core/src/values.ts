import type { ColumnType } from './catalog.js';
import { FerryError, type FieldPath } from './errors.js';
import type { FilterValue } from './query.js';

/**
 * Filter values checked against the type of what they are compared with. Everything here is about
 * the client's JSON: a mismatch is a 400 TYPE_MISMATCH at the value's path, never a database error.
 */

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

function isInt64(text: string): boolean {
  if (!/^-?\d{1,19}$/.test(text)) return false;
  const n = BigInt(text);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/** Whether the text starts with a day the calendar has: V8 reads `2023-02-30` as March 2nd, the databases refuse it. */
function realDay(text: string): boolean {
  const day = text.slice(0, 10);
  return new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day;
}

function fits(type: ColumnType, value: FilterValue): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
    case 'bigint':
      // Beyond 2^53 a JSON number has already lost digits, so large values must come as strings.
      return (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && isInt64(value));
    case 'double':
    case 'decimal':
      return (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && DECIMAL_TEXT.test(value));
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value)) && realDay(value);
    case 'timestamp':
      return typeof value === 'string' && ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value)) && realDay(value);
  }
}

/** Throw TYPE_MISMATCH unless `value` is a valid `type` (`subject` names the column in the message). */
export function checkValue(type: ColumnType, subject: string, value: FilterValue, path: FieldPath): void {
  if (!fits(type, value)) {
    throw new FerryError('TYPE_MISMATCH', `${JSON.stringify(value)} is not a valid ${type} for ${subject}`, { path });
  }
}

/** A decimal string or number as an exact scaled integer, for comparing two decimals. */
function scaled(value: FilterValue, scale: number): bigint {
  const text = typeof value === 'number' ? numberToPlain(value) : String(value);
  const [whole = '0', frac = ''] = text.replace('-', '').split('.');
  const digits = BigInt(whole + frac.padEnd(scale, '0').slice(0, scale));
  return text.startsWith('-') ? -digits : digits;
}

/** A finite number in plain positional notation (`1e-7` -> `0.0000001`). */
function numberToPlain(n: number): string {
  const text = String(n);
  if (!/e/i.test(text)) return text;
  // From 1e21 up toFixed answers in exponent notation too; such a double is a whole number.
  if (Math.abs(n) >= 1e21) return BigInt(n).toString();
  return n.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

function fraction(value: FilterValue): number {
  const text = typeof value === 'number' ? numberToPlain(value) : String(value);
  return text.split('.')[1]?.length ?? 0;
}

/** Compare by Unicode code point: the order of UTF-8 bytes, which is how both SQL dialects compare (COLLATE "C"). */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Order two values already checked as `type` (negative, zero or positive), as the database orders them. */
export function compareValues(type: ColumnType, a: FilterValue, b: FilterValue): number {
  switch (type) {
    case 'string':
      return compareCodePoints(String(a), String(b));
    case 'integer':
    case 'double':
      return Number(a) - Number(b);
    case 'bigint': {
      const d = BigInt(a) - BigInt(b);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    }
    case 'decimal': {
      const scale = Math.max(fraction(a), fraction(b));
      const d = scaled(a, scale) - scaled(b, scale);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    }
    case 'boolean':
      return Number(a) - Number(b);
    case 'date':
      return compareCodePoints(String(a), String(b));
    case 'timestamp':
      return Date.parse(String(a)) - Date.parse(String(b));
  }
}
