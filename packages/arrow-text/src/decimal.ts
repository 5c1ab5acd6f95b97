import { writeAscii, writePadded, writeUnsigned } from './numbers.js';

/** Longest text of a 256-bit decimal: 77 digits, sign, point, leading `0.`. */
export const MAX_DECIMAL_CHARS = 82;

const TWO_32 = 4294967296;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/**
 * Write the Arrow decimal stored as `stride` little-endian 32-bit words at `words[index*stride]`
 * (two's complement; 4 words for Decimal128, 8 for Decimal256) with `scale` fraction digits.
 * Exact: the unscaled integer is formatted as digits and the point inserted, never via a float.
 * `scratch` is a caller-owned buffer of at least MAX_DECIMAL_CHARS bytes.
 */
export function writeDecimalWords(
  buf: Uint8Array,
  pos: number,
  words: Uint32Array,
  index: number,
  stride: number,
  scale: number,
  scratch: Uint8Array,
): number {
  const base = index * stride;
  const lo = words[base]!;
  const w1 = words[base + 1]!;
  // Fast path: the value sign-extends from 53 bits, so it is exact as a double.
  let small = true;
  const ext = w1 >= 0x80000000 ? 0xffffffff : 0;
  for (let k = 2; k < stride; k++) {
    if (words[base + k] !== ext) {
      small = false;
      break;
    }
  }
  let negative: boolean;
  let digits: number; // digits written into scratch, right-aligned at the end
  const end = scratch.length;
  if (small && (ext === 0 ? w1 < 0x200000 : w1 >= 0xffe00000)) {
    const hi = ext === 0 ? w1 : w1 - TWO_32;
    let v = hi * TWO_32 + lo;
    negative = v < 0;
    if (negative) v = -v;
    if (scale > 0 && scale <= 9) {
      // Common case (money, measures): integer part, point, zero-padded fraction; no scratch copy.
      const unit = POW10[scale]!;
      const int = Math.floor(v / unit);
      if (negative) buf[pos++] = 45;
      pos = writeUnsigned(buf, pos, int);
      buf[pos++] = 46;
      return writePadded(buf, pos, v - int * unit, scale);
    }
    let q = end;
    do {
      const d = Math.floor(v / 10);
      scratch[--q] = 48 + v - d * 10;
      v = d;
    } while (v > 0);
    digits = end - q;
  } else {
    let big = 0n;
    for (let k = stride - 1; k >= 0; k--) big = (big << 32n) | BigInt(words[base + k]!);
    // Two's complement: the sign is the top bit of the most significant word.
    if (words[base + stride - 1]! >= 0x80000000) big -= 1n << BigInt(stride * 32);
    negative = big < 0n;
    const text = (negative ? -big : big).toString();
    digits = text.length;
    writeAscii(scratch, end - digits, text);
  }
  if (negative) buf[pos++] = 45;
  return placePoint(buf, pos, scratch, end - digits, digits, scale);
}

/** Copy `digits` digits from `scratch[from..]` inserting the decimal point for `scale`. */
function placePoint(buf: Uint8Array, pos: number, scratch: Uint8Array, from: number, digits: number, scale: number): number {
  if (scale <= 0) {
    for (let k = 0; k < digits; k++) buf[pos++] = scratch[from + k]!;
    // A negative scale multiplies by 10^-scale (allowed by Arrow); zero stays `0`.
    if (!(digits === 1 && scratch[from] === 48)) for (let k = 0; k < -scale; k++) buf[pos++] = 48;
    return pos;
  }
  if (digits <= scale) {
    buf[pos++] = 48; // '0'
    buf[pos++] = 46; // '.'
    for (let k = digits; k < scale; k++) buf[pos++] = 48;
    for (let k = 0; k < digits; k++) buf[pos++] = scratch[from + k]!;
    return pos;
  }
  const intDigits = digits - scale;
  for (let k = 0; k < intDigits; k++) buf[pos++] = scratch[from + k]!;
  buf[pos++] = 46;
  for (let k = intDigits; k < digits; k++) buf[pos++] = scratch[from + k]!;
  return pos;
}
