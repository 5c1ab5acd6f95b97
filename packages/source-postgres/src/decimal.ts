/**
 * numeric text with a known scale (a constrained `numeric(p, s)` prints exactly `s` fraction
 * digits) to the 128-bit two's complement unscaled integer Arrow's Decimal stores, as four
 * little-endian uint32 words.
 */
export function writeDecimal128(text: string, scale: number, words: Uint32Array, index: number): boolean {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return false; // NaN cannot be an Arrow decimal
  const fraction = (m[3] ?? '').padEnd(scale, '0');
  if (fraction.length > scale) return false;
  let value = BigInt(m[2]! + fraction);
  if (m[1]) value = -value;
  const unsigned = BigInt.asUintN(128, value);
  const w = index * 4;
  words[w] = Number(unsigned & 0xffffffffn);
  words[w + 1] = Number((unsigned >> 32n) & 0xffffffffn);
  words[w + 2] = Number((unsigned >> 64n) & 0xffffffffn);
  words[w + 3] = Number((unsigned >> 96n) & 0xffffffffn);
  return true;
}
