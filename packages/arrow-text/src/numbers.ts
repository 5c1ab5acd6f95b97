/**
 * Number text written straight into byte buffers. Every writer takes `(buf, pos, ...)` and returns
 * the new position; the caller guarantees room for the worst case (see the MAX_* constants).
 * Integers never go through a JS double unless they fit in 53 bits, so 64-bit and decimal values
 * keep every digit.
 */

/** Longest text of a 64-bit integer: `-9223372036854775808`. */
export const MAX_INT64_CHARS = 20;
/** Longest `Number.prototype.toString` output, e.g. `-1.2345678901234567e-308`, plus room for `"NaN"` quoting. */
export const MAX_DOUBLE_CHARS = 26;

const TWO_32 = 4294967296;
const SAFE = Number.MAX_SAFE_INTEGER;
const POW10 = [1, 10, 100, 1000, 10000];

/** Write a non-negative integer `v < 2^53` as decimal digits. */
export function writeUnsigned(buf: Uint8Array, pos: number, v: number): number {
  if (v < 2147483648) {
    let n = v | 0;
    let len = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) len++;
    let q = pos + len;
    do {
      const d = (n / 10) | 0;
      buf[--q] = 48 + n - d * 10;
      n = d;
    } while (n > 0);
    return pos + len;
  }
  // Above 2^31: split into a high part and eight low digits so the digit loop stays in int32.
  const hi = Math.floor(v / 1e8);
  const lo = v - hi * 1e8;
  pos = writeUnsigned(buf, pos, hi);
  return writePadded(buf, pos, lo, 8);
}

/** Write an integer `|v| < 2^53`. */
export function writeSafeInt(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0) {
    buf[pos++] = 45; // '-'
    return writeUnsigned(buf, pos, -v);
  }
  return writeUnsigned(buf, pos, v);
}

/** Write `0 <= v < 10^width` left-padded with zeros to exactly `width` digits. */
export function writePadded(buf: Uint8Array, pos: number, v: number, width: number): number {
  if (v < 2147483648) {
    // int32 arithmetic: the common case (fractions, clock fields, years) and much faster.
    let n = v | 0;
    for (let q = pos + width - 1; q >= pos; q--) {
      const d = (n / 10) | 0;
      buf[q] = 48 + n - d * 10;
      n = d;
    }
    return pos + width;
  }
  let n = v;
  for (let q = pos + width - 1; q >= pos; q--) {
    const d = Math.floor(n / 10);
    buf[q] = 48 + n - d * 10;
    n = d;
  }
  return pos + width;
}

/** Write ASCII text (digits, signs, exponent letters) byte by byte. */
export function writeAscii(buf: Uint8Array, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
  return pos;
}

/**
 * Write the signed 64-bit integer whose little-endian 32-bit words are `lo` (unsigned) and `hi`
 * (signed). Reading words instead of `BigInt64Array` elements avoids a BigInt allocation per value;
 * the BigInt path is taken only beyond 2^53.
 */
export function writeInt64Words(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  if (hi >= -2097152 && hi < 2097152) return writeSafeInt(buf, pos, hi * TWO_32 + lo);
  return writeAscii(buf, pos, ((BigInt(hi) << 32n) | BigInt(lo)).toString());
}

/** Unsigned variant of `writeInt64Words` (`hi` unsigned). */
export function writeUint64Words(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  if (hi < 2097152) return writeUnsigned(buf, pos, hi * TWO_32 + lo);
  return writeAscii(buf, pos, ((BigInt(hi) << 32n) | BigInt(lo)).toString());
}

/**
 * How non-finite doubles are spelled. CSV writes them bare; JSON has no literal for them, so JSONL
 * writes them as strings (`"NaN"`), which typed readers such as DuckDB cast back to DOUBLE.
 */
export interface NonFiniteStyle {
  nan: string;
  posInf: string;
  negInf: string;
}

export const BARE_NON_FINITE: NonFiniteStyle = { nan: 'NaN', posInf: 'Infinity', negInf: '-Infinity' };
export const QUOTED_NON_FINITE: NonFiniteStyle = { nan: '"NaN"', posInf: '"Infinity"', negInf: '"-Infinity"' };

/**
 * Shortest round-trip text of a double: the same text as `String(v)`, except that -0 keeps its
 * sign (`-0`). Integral values below 2^53 skip the number-to-string conversion.
 */
export function writeDouble(buf: Uint8Array, pos: number, v: number, nonFinite: NonFiniteStyle): number {
  if (v === Math.trunc(v) && v <= SAFE && v >= -SAFE) {
    if (v === 0 && 1 / v < 0) {
      buf[pos++] = 45;
      buf[pos++] = 48;
      return pos;
    }
    return writeSafeInt(buf, pos, v);
  }
  // Few fraction digits (prices, measurements): find the shortest d with round(v*10^d)/10^d === v.
  // That decimal text parses back to v and has the fewest digits, i.e. it is what String(v) prints,
  // without the cost of the generic shortest-digits algorithm.
  if (v < 1e9 && v > -1e9 && (v >= 1e-4 || v <= -1e-4)) {
    for (let d = 1; d <= 4; d++) {
      const scale = POW10[d]!;
      const x = Math.round(v * scale);
      if (x / scale === v) {
        let ax = x;
        if (ax < 0) {
          buf[pos++] = 45;
          ax = -ax;
        }
        const int = Math.floor(ax / scale);
        pos = writeUnsigned(buf, pos, int);
        buf[pos++] = 46;
        return writePadded(buf, pos, ax - int * scale, d);
      }
    }
  }
  if (v !== v) return writeAscii(buf, pos, nonFinite.nan);
  if (v === Infinity) return writeAscii(buf, pos, nonFinite.posInf);
  if (v === -Infinity) return writeAscii(buf, pos, nonFinite.negInf);
  return writeAscii(buf, pos, String(v));
}

/**
 * Shortest text that reads back as the same float32 (a float32 widened to double would otherwise
 * print as e.g. `0.10000000149011612`).
 */
export function float32Text(v: number): string {
  if (!Number.isFinite(v) || v === Math.trunc(v)) return Object.is(v, -0) ? '-0' : String(v);
  for (let p = 1; p < 9; p++) {
    const text = v.toPrecision(p);
    if (Math.fround(Number(text)) === v) return String(Number(text));
  }
  return String(v);
}
