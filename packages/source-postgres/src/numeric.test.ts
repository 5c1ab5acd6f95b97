import { describe, expect, it } from 'vitest';
import { writeDecimal128 } from './decimal.js';
import { numericText, writeNumericDecimal128 } from './numeric.js';

/** A canonical numeric text in numeric_send's layout: base-10000 digits aligned on the point, no zero digits at either end. */
function numericSend(text: string): DataView {
  const negative = text.startsWith('-');
  const [int, frac = ''] = (negative ? text.slice(1) : text).split('.') as [string, string?];
  const intPadded = int.padStart(Math.ceil(int.length / 4) * 4, '0');
  const fracPadded = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0');
  const groups = `${intPadded}${fracPadded}`.match(/\d{4}/g)?.map(Number) ?? [];
  let weight = intPadded.length / 4 - 1;
  while (groups.length > 0 && groups[0] === 0) {
    groups.shift();
    weight--;
  }
  while (groups.length > 0 && groups.at(-1) === 0) groups.pop();
  if (groups.length === 0) weight = 0;
  const view = new DataView(new ArrayBuffer(8 + 2 * groups.length));
  view.setInt16(0, groups.length);
  view.setInt16(2, weight);
  view.setUint16(4, negative && groups.length > 0 ? 0x4000 : 0);
  view.setUint16(6, frac.length);
  groups.forEach((g, i) => view.setInt16(8 + 2 * i, g));
  return view;
}

/** Deterministic pseudo-random digits (a fixed LCG), so a failure reproduces. */
function digits(seed: { s: number }, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    seed.s = (seed.s * 1103515245 + 12345) % 2 ** 31;
    out += String(seed.s % 10);
  }
  return out;
}

describe('binary numeric', () => {
  const cases: Array<{ text: string; scale: number }> = [
    { text: '0', scale: 0 },
    { text: '0.000', scale: 3 },
    { text: '12345678.500', scale: 3 },
    { text: '-12345678.500', scale: 3 },
    { text: '-0.001', scale: 3 },
    { text: '0.0000000001', scale: 10 },
    { text: '99999999999999999999999999999999999999', scale: 0 },
    { text: '-9999999999999999999999999999.9999999999', scale: 10 },
    { text: '10000', scale: 0 },
    { text: '-1.5', scale: 1 },
  ];
  const seed = { s: 42 };
  for (let i = 0; i < 500; i++) {
    const scale = Number(digits(seed, 1));
    const int = digits(seed, Number(digits(seed, 2)) % 28).replace(/^0+/, '') || '0';
    const frac = digits(seed, scale);
    cases.push({ text: `${Number(digits(seed, 1)) < 5 ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`.replace(/^-(0(\.0*)?)$/, '$1'), scale });
  }

  it('prints exactly what numeric_out prints', () => {
    for (const { text } of cases) expect(String.fromCharCode(...numericText(numericSend(text), 0))).toBe(text);
  });

  it('gives the same Decimal128 words as the text path, on the double-only and BigInt paths alike', () => {
    for (const { text, scale } of cases) {
      const binary = new Uint32Array(8);
      const fromText = new Uint32Array(8);
      writeNumericDecimal128(numericSend(text), 0, scale, binary, 1);
      expect(writeDecimal128(text, scale, fromText, 1)).toBe(true);
      expect({ text, words: Array.from(binary) }).toEqual({ text, words: Array.from(fromText) });
    }
  });

  it('takes values with fewer stored fraction digits than the column scale', () => {
    const words = new Uint32Array(4);
    // 1.5 stored with dscale 1 in a scale-3 column is 1500 unscaled.
    writeNumericDecimal128(numericSend('1.5'), 0, 3, words, 0);
    expect(Array.from(words)).toEqual([1500, 0, 0, 0]);
  });
});
