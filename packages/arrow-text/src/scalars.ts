import { Type, type Data, type DataType, type Int, type Float, type Decimal, type Date_, type Timestamp, type Time, Precision, DateUnit } from 'apache-arrow';
import type { CellColumn } from './cells.js';
import { MAX_DECIMAL_CHARS, writeDecimalWords } from './decimal.js';
import { MAX_DOUBLE_CHARS, MAX_INT64_CHARS, type NonFiniteStyle, float32Text, writeAscii, writeDouble, writeInt64Words, writeSafeInt, writeUint64Words } from './numbers.js';
import { FRACTION_DIGITS, MAX_DATE_CHARS, MAX_TIMESTAMP_CHARS, MAX_TIME_CHARS, UNITS_PER_SECOND, ZoneOffsets, splitEpoch, writeClock, writeDate, writeFraction, writeOffset } from './temporal.js';

/** How a format spells the values that are not strings. */
export interface ScalarStyle {
  /** Byte written around dates, times and timestamps: `"` (34) for JSON, 0 for none (CSV). */
  temporalQuote: number;
  /** The bytes of a NULL cell: empty for CSV, `null` for JSON. */
  nullBytes: Uint8Array;
  nonFinite: NonFiniteStyle;
}

/** Null bitmap to consult, or null when every value is valid. Bits are addressed by `data.offset + i`. */
export function validityOf(data: Data): Uint8Array | null {
  return data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0 ? data.nullBitmap : null;
}

/** The 32-bit word view of a 64-bit typed array (no copy), so 64-bit values are read without BigInt. */
function words32(values: BigInt64Array | BigUint64Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length * 2);
}

/**
 * Encode a column of numbers, booleans, decimals, dates, times or timestamps, appending
 * `data.length` cells to `col`. Returns false (and writes nothing) for any other type; formats
 * handle strings themselves (the escaping differs) and fall back for nested types.
 */
export function encodeScalarColumn(data: Data, col: CellColumn, style: ScalarStyle): boolean {
  const type: DataType = data.type;
  switch (type.typeId) {
    case Type.Null:
      col.reserveCells(data.length);
      for (let i = 0; i < data.length; i++) col.pushBytes(style.nullBytes);
      return true;
    case Type.Bool:
      encodeBool(data, col, style);
      return true;
    case Type.Int:
      encodeInt(data as Data<Int>, col, style);
      return true;
    case Type.Float:
      encodeFloat(data as Data<Float>, col, style);
      return true;
    case Type.Decimal:
      encodeDecimal(data as Data<Decimal>, col, style);
      return true;
    case Type.Date:
      encodeDate(data as Data<Date_>, col, style);
      return true;
    case Type.Timestamp:
      encodeTimestamp(data as Data<Timestamp>, col, style);
      return true;
    case Type.Time:
      encodeTime(data as Data<Time>, col, style);
      return true;
    default:
      return false;
  }
}

/** Copy the NULL bytes at `p`; returns the new position. */
function writeNull(buf: Uint8Array, p: number, nullBytes: Uint8Array): number {
  for (let k = 0; k < nullBytes.length; k++) buf[p++] = nullBytes[k]!;
  return p;
}

const TRUE = [116, 114, 117, 101];
const FALSE = [102, 97, 108, 115, 101];

function encodeBool(data: Data, col: CellColumn, style: ScalarStyle): void {
  const n = data.length;
  const bits = data.values as Uint8Array;
  const valid = validityOf(data);
  const off = data.offset;
  const nul = style.nullBytes;
  col.reserveCells(n);
  const buf = col.grow(col.pos, n * Math.max(5, nul.length));
  let p = col.pos;
  const ends = col.ends;
  let c = col.length;
  for (let i = 0; i < n; i++) {
    const bit = off + i;
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) p = writeNull(buf, p, nul);
    else if ((bits[bit >> 3]! >> (bit & 7)) & 1) for (let k = 0; k < 4; k++) buf[p++] = TRUE[k]!;
    else for (let k = 0; k < 5; k++) buf[p++] = FALSE[k]!;
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}

function encodeInt(data: Data<Int>, col: CellColumn, style: ScalarStyle): void {
  const n = data.length;
  const valid = validityOf(data);
  const off = data.offset;
  const nul = style.nullBytes;
  const cell = Math.max(MAX_INT64_CHARS, nul.length);
  col.reserveCells(n);
  const buf = col.grow(col.pos, n * cell);
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  if (data.type.bitWidth === 64) {
    const w = words32(data.values as BigInt64Array | BigUint64Array);
    const signed = data.type.isSigned;
    for (let i = 0; i < n; i++) {
      const bit = off + i;
      if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) p = writeNull(buf, p, nul);
      else if (signed) p = writeInt64Words(buf, p, w[2 * i]! >>> 0, w[2 * i + 1]!);
      else p = writeUint64Words(buf, p, w[2 * i]! >>> 0, w[2 * i + 1]! >>> 0);
      ends[c++] = p;
    }
  } else {
    const values = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
    for (let i = 0; i < n; i++) {
      const bit = off + i;
      if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) p = writeNull(buf, p, nul);
      else p = writeSafeInt(buf, p, values[i]!);
      ends[c++] = p;
    }
  }
  col.pos = p;
  col.length = c;
}

function encodeFloat(data: Data<Float>, col: CellColumn, style: ScalarStyle): void {
  const n = data.length;
  const valid = validityOf(data);
  const off = data.offset;
  const nul = style.nullBytes;
  const nonFinite = style.nonFinite;
  col.reserveCells(n);
  const buf = col.grow(col.pos, n * Math.max(MAX_DOUBLE_CHARS, nul.length));
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  const precision = data.type.precision;
  if (precision === Precision.DOUBLE) {
    const values = data.values as Float64Array;
    for (let i = 0; i < n; i++) {
      const bit = off + i;
      if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) p = writeNull(buf, p, nul);
      else p = writeDouble(buf, p, values[i]!, nonFinite);
      ends[c++] = p;
    }
  } else {
    // Float32 prints its own shortest text; Float16 widens exactly to a double.
    const values = precision === Precision.SINGLE ? (data.values as Float32Array) : halfToFloat(data.values as Uint16Array);
    const single = precision === Precision.SINGLE;
    for (let i = 0; i < n; i++) {
      const bit = off + i;
      const v = values[i]!;
      if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) p = writeNull(buf, p, nul);
      else if (!Number.isFinite(v) || !single) p = writeDouble(buf, p, v, nonFinite);
      else p = writeAscii(buf, p, float32Text(v));
      ends[c++] = p;
    }
  }
  col.pos = p;
  col.length = c;
}

function halfToFloat(half: Uint16Array): Float64Array {
  const out = new Float64Array(half.length);
  for (let i = 0; i < half.length; i++) {
    const h = half[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? Number.NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

function encodeDecimal(data: Data<Decimal>, col: CellColumn, style: ScalarStyle): void {
  const n = data.length;
  const valid = validityOf(data);
  const off = data.offset;
  const nul = style.nullBytes;
  const { scale, bitWidth } = data.type;
  const stride = bitWidth / 32;
  const words = data.values;
  const scratch = new Uint8Array(MAX_DECIMAL_CHARS);
  // Worst case per cell: all digits plus sign, point and leading zeros.
  const cell = Math.max(MAX_DECIMAL_CHARS + Math.abs(scale), nul.length);
  col.reserveCells(n);
  const buf = col.grow(col.pos, n * cell);
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  for (let i = 0; i < n; i++) {
    const bit = off + i;
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) p = writeNull(buf, p, nul);
    else p = writeDecimalWords(buf, p, words, i, stride, scale, scratch);
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}

function encodeDate(data: Data<Date_>, col: CellColumn, style: ScalarStyle): void {
  const n = data.length;
  const valid = validityOf(data);
  const off = data.offset;
  const nul = style.nullBytes;
  const q = style.temporalQuote;
  col.reserveCells(n);
  const buf = col.grow(col.pos, n * Math.max(MAX_DATE_CHARS, nul.length));
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  const dayValues = data.type.unit === DateUnit.DAY ? (data.values as Int32Array) : null;
  const msWords = dayValues === null ? words32(data.values as BigInt64Array) : null;
  for (let i = 0; i < n; i++) {
    const bit = off + i;
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) {
      p = writeNull(buf, p, nul);
    } else {
      const days = dayValues !== null ? dayValues[i]! : Math.floor((msWords![2 * i + 1]! * 4294967296 + (msWords![2 * i]! >>> 0)) / 86400000);
      if (q) buf[p++] = q;
      p = writeDate(buf, p, days);
      if (q) buf[p++] = q;
    }
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}

function encodeTimestamp(data: Data<Timestamp>, col: CellColumn, style: ScalarStyle): void {
  const n = data.length;
  const valid = validityOf(data);
  const off = data.offset;
  const nul = style.nullBytes;
  const q = style.temporalQuote;
  const units = UNITS_PER_SECOND[data.type.unit]!;
  const digits = FRACTION_DIGITS[data.type.unit]!;
  const zone = new ZoneOffsets(data.type.timezone);
  const naive = zone.naive;
  const w = words32(data.values as BigInt64Array);
  const split = new Float64Array(2);
  // Timestamps usually arrive sorted: reuse the previous value's date text when the day repeats.
  let lastDays = Number.NaN;
  let lastDate = 0;
  let lastDateLen = 0;
  col.reserveCells(n);
  const buf = col.grow(col.pos, n * Math.max(MAX_TIMESTAMP_CHARS, nul.length));
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  for (let i = 0; i < n; i++) {
    const bit = off + i;
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) {
      p = writeNull(buf, p, nul);
    } else {
      splitEpoch(w[2 * i]! >>> 0, w[2 * i + 1]!, units, split);
      const utc = split[0]!;
      const offset = naive ? 0 : zone.offsetAt(utc);
      const local = utc + offset;
      const days = Math.floor(local / 86400);
      if (q) buf[p++] = q;
      if (days === lastDays) {
        for (let k = 0; k < lastDateLen; k++) buf[p + k] = buf[lastDate + k]!;
        p += lastDateLen;
      } else {
        lastDate = p;
        p = writeDate(buf, p, days);
        lastDays = days;
        lastDateLen = p - lastDate;
      }
      buf[p++] = 84; // 'T'
      p = writeClock(buf, p, local - days * 86400);
      p = writeFraction(buf, p, split[1]!, digits);
      if (!naive) p = writeOffset(buf, p, offset);
      if (q) buf[p++] = q;
    }
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}

function encodeTime(data: Data<Time>, col: CellColumn, style: ScalarStyle): void {
  const n = data.length;
  const valid = validityOf(data);
  const off = data.offset;
  const nul = style.nullBytes;
  const q = style.temporalQuote;
  const units = UNITS_PER_SECOND[data.type.unit]!;
  const digits = FRACTION_DIGITS[data.type.unit]!;
  const wide = data.type.bitWidth === 64;
  const narrow = wide ? null : (data.values as Int32Array);
  const w = wide ? words32(data.values as BigInt64Array) : null;
  col.reserveCells(n);
  const buf = col.grow(col.pos, n * Math.max(MAX_TIME_CHARS, nul.length));
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  for (let i = 0; i < n; i++) {
    const bit = off + i;
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) {
      p = writeNull(buf, p, nul);
    } else {
      // Time of day is below 86400 * 10^9, far inside 2^53.
      const v = narrow !== null ? narrow[i]! : w![2 * i + 1]! * 4294967296 + (w![2 * i]! >>> 0);
      const sec = Math.floor(v / units);
      if (q) buf[p++] = q;
      p = writeClock(buf, p, sec);
      p = writeFraction(buf, p, v - sec * units, digits);
      if (q) buf[p++] = q;
    }
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}
