/**
 * PostgreSQL's binary numeric (numeric_send): int16 ndigits, int16 weight, uint16 sign, uint16
 * dscale, then ndigits base-10000 digits, most significant first; value = sum of
 * digit[i] * 10000^(weight - i). Stored digits carry no leading or trailing zero digits.
 */

const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

/** numeric_out's text for the special values, or null for a finite number. */
export function numericSpecial(view: DataView, pos: number): string | null {
  switch (view.getUint16(pos + 4)) {
    case NUMERIC_NAN:
      return 'NaN';
    case NUMERIC_PINF:
      return 'Infinity';
    case NUMERIC_NINF:
      return '-Infinity';
    default:
      return null;
  }
}

export const numericScale = (view: DataView, pos: number): number => view.getUint16(pos + 6);

/** Digits as PostgreSQL prints them: 4 per base-10000 digit, zero-padded. */
function pad4(out: number[], digit: number): void {
  out.push(48 + Math.floor(digit / 1000), 48 + (Math.floor(digit / 100) % 10), 48 + (Math.floor(digit / 10) % 10), 48 + (digit % 10));
}

/**
 * The ASCII bytes numeric_out prints for a value (get_str_from_var: sign, the integer part without
 * leading zeros, then exactly dscale fraction digits), so binary reads give the text path's text.
 */
export function numericText(view: DataView, pos: number): number[] {
  const special = numericSpecial(view, pos);
  const out: number[] = [];
  if (special !== null) {
    for (let i = 0; i < special.length; i++) out.push(special.charCodeAt(i));
    return out;
  }
  const ndigits = view.getInt16(pos);
  const weight = view.getInt16(pos + 2);
  const dscale = view.getUint16(pos + 6);
  const digit = (d: number): number => (d >= 0 && d < ndigits ? view.getInt16(pos + 8 + 2 * d) : 0);
  if (view.getUint16(pos + 4) === NUMERIC_NEG) out.push(45);
  let d = 0;
  if (weight < 0) {
    d = weight + 1;
    out.push(48);
  } else {
    for (; d <= weight; d++) {
      if (d === 0) for (const c of String(digit(0))) out.push(c.charCodeAt(0));
      else pad4(out, digit(d));
    }
  }
  if (dscale > 0) {
    out.push(46);
    const end = out.length + dscale;
    for (let i = 0; i < dscale; d++, i += 4) pad4(out, digit(d));
    out.length = end;
  }
  return out;
}

const TWO32 = 2 ** 32;
const POW10 = [1, 10, 100, 1000];

/**
 * A finite numeric whose dscale is at most `scale`, as the unscaled 128-bit two's complement
 * integer (value x 10^scale) Arrow's Decimal stores, four little-endian uint32 words at `index`.
 * Values of up to 12 significant digits take a double-only path; larger ones go through BigInt.
 */
export function writeNumericDecimal128(view: DataView, pos: number, scale: number, words: Uint32Array, index: number): void {
  const ndigits = view.getInt16(pos);
  const weight = view.getInt16(pos + 2);
  const negative = view.getUint16(pos + 4) === NUMERIC_NEG;
  // value = N x 10^(4 (weight - ndigits + 1)), N the digits as one base-10000 integer; digits
  // beyond dscale are zero, so with dscale <= scale, e >= -3 and the division below is exact.
  const e = 4 * (weight - ndigits + 1) + scale;
  const w = index * 4;
  if (ndigits === 0 || (ndigits <= 3 && e >= -3 && e <= 3)) {
    let n = 0;
    for (let i = 0; i < ndigits; i++) n = n * 10_000 + view.getInt16(pos + 8 + 2 * i);
    // Below 10^15 < 2^53 either way: exact in a double, and the division is exact too.
    const magnitude = n === 0 ? 0 : e >= 0 ? n * POW10[e]! : n / POW10[-e]!;
    if (!negative || magnitude === 0) {
      words[w] = magnitude % TWO32;
      words[w + 1] = Math.floor(magnitude / TWO32);
      words[w + 2] = 0;
      words[w + 3] = 0;
    } else {
      // Two's complement of the magnitude: ~(magnitude - 1), word by word.
      const m = magnitude - 1;
      words[w] = ~(m % TWO32) >>> 0;
      words[w + 1] = ~Math.floor(m / TWO32) >>> 0;
      words[w + 2] = 0xffffffff;
      words[w + 3] = 0xffffffff;
    }
    return;
  }
  let n = 0n;
  for (let i = 0; i < ndigits; i++) n = n * 10_000n + BigInt(view.getInt16(pos + 8 + 2 * i));
  let value = e >= 0 ? n * 10n ** BigInt(e) : n / 10n ** BigInt(-e);
  if (negative) value = -value;
  const unsigned = BigInt.asUintN(128, value);
  words[w] = Number(unsigned & 0xffffffffn);
  words[w + 1] = Number((unsigned >> 32n) & 0xffffffffn);
  words[w + 2] = Number((unsigned >> 64n) & 0xffffffffn);
  words[w + 3] = Number((unsigned >> 96n) & 0xffffffffn);
}
