import { describe, expect, it } from 'vitest';
import { BARE_NON_FINITE, float32Text, writeDouble, writeInt64Words, writeUint64Words } from './numbers.js';
import { writeDecimalWords } from './decimal.js';
import { ZoneOffsets, splitEpoch, writeDate } from './temporal.js';
import { CellColumn, stitchRows } from './cells.js';

const buf = new Uint8Array(128);
const text = (end: number): string => Buffer.from(buf.subarray(0, end)).toString('latin1');

function int64Text(v: bigint): string {
  const u = BigInt.asUintN(64, v);
  return text(writeInt64Words(buf, 0, Number(u & 0xffffffffn), Number(BigInt.asIntN(32, u >> 32n))));
}

function decimalText(unscaled: bigint, scale: number, bitWidth = 128): string {
  const stride = bitWidth / 32;
  const words = new Uint32Array(stride);
  const u = BigInt.asUintN(bitWidth, unscaled);
  for (let k = 0; k < stride; k++) words[k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
  return text(writeDecimalWords(buf, 0, words, 0, stride, scale, new Uint8Array(90)));
}

/** Reference: decimal text via BigInt string arithmetic. */
function refDecimal(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const body = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return (neg ? '-' : '') + body;
}

describe('64-bit integers', () => {
  it('keeps every digit at the edges', () => {
    for (const v of [0n, 1n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 4294967296n, -4294967296n, 1234567890123n]) {
      expect(int64Text(v)).toBe(v.toString());
    }
    expect(text(writeUint64Words(buf, 0, 0xffffffff, 0xffffffff))).toBe((2n ** 64n - 1n).toString());
  });
});

describe('decimals', () => {
  it('is exact for small and large values and any scale', () => {
    const values = [0n, 1n, -1n, -(2n ** 100n), -(2n ** 64n), 2n ** 64n, -(2n ** 53n), 5n, 12345678901234567n, -99999999999999999999999999999999999999n, 2n ** 100n, 10n ** 18n, -(10n ** 18n) + 1n];
    for (const v of values) for (const scale of [0, 2, 4, 9, 10, 18, 38]) expect(decimalText(v, scale), `${v} s${scale}`).toBe(refDecimal(v, scale));
  });

  it('handles Decimal256 and negative scales', () => {
    expect(decimalText(-(2n ** 200n), 3, 256)).toBe(refDecimal(-(2n ** 200n), 3));
    expect(decimalText(12n, -3)).toBe('12000');
    expect(decimalText(0n, -3)).toBe('0');
  });
});

describe('doubles', () => {
  it('prints the same text as String(v) (except -0)', () => {
    const samples = [0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1.005, 123.45, -0.0001, 0.00011, 1e-7, 1e21, 1e20, 9007199254740993, 5e-324, 1.7976931348623157e308, 2.5, -7.125, 1234.5678, 0.000123];
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 20000; i++) {
      samples.push((rand() - 0.5) * 10 ** Math.floor(rand() * 20 - 8));
      samples.push(Math.round(rand() * 1e6) / 10 ** Math.floor(rand() * 5));
    }
    for (const v of samples) expect(text(writeDouble(buf, 0, v, BARE_NON_FINITE))).toBe(String(v));
    expect(text(writeDouble(buf, 0, -0, BARE_NON_FINITE))).toBe('-0');
    expect(text(writeDouble(buf, 0, Number.NaN, BARE_NON_FINITE))).toBe('NaN');
  });

  it('prints float32 values with their own shortest text', () => {
    expect(float32Text(Math.fround(0.1))).toBe('0.1');
    expect(float32Text(Math.fround(1 / 3))).toBe('0.33333334');
    expect(Math.fround(Number(float32Text(Math.fround(1e-40))))).toBe(Math.fround(1e-40));
  });
});

describe('dates and timestamps', () => {
  it('matches Date#toISOString for dates across the calendar', () => {
    for (let days = -800000; days < 3000000; days += 997) {
      expect(text(writeDate(buf, 0, days))).toBe(new Date(days * 86400000).toISOString().split('T')[0]);
    }
  });

  it('splits int64 epochs exactly without BigInt', () => {
    const out = new Float64Array(2);
    for (const [v, unit] of [[1704164645123456789n, 1e9], [-1n, 1e9], [-1704164645123456789n, 1e9], [9223372036854775807n, 1e9], [-62135596800000000n, 1e6], [1n, 1e3], [-1001n, 1e3]] as const) {
      const u = BigInt.asUintN(64, v);
      splitEpoch(Number(u & 0xffffffffn), Number(BigInt.asIntN(32, u >> 32n)), unit, out);
      const d = BigInt(unit);
      const q = v >= 0n ? v / d : -((-v + d - 1n) / d);
      expect([out[0], out[1]]).toEqual([Number(q), Number(v - q * d)]);
    }
  });

  it('resolves zone offsets', () => {
    expect(new ZoneOffsets('+05:30').offsetAt(0)).toBe(19800);
    expect(new ZoneOffsets('UTC').offsetAt(0)).toBe(0);
    const paris = new ZoneOffsets('Europe/Paris');
    expect(paris.offsetAt(Date.UTC(2024, 0, 15) / 1000)).toBe(3600);
    expect(paris.offsetAt(Date.UTC(2024, 6, 15) / 1000)).toBe(7200);
    // DST switch 2024-03-31 01:00 UTC, inside one cache bucket boundary on either side.
    expect(paris.offsetAt(Date.UTC(2024, 2, 31, 0, 59, 59) / 1000)).toBe(3600);
    expect(paris.offsetAt(Date.UTC(2024, 2, 31, 1, 0, 0) / 1000)).toBe(7200);
    expect(new ZoneOffsets('Not/AZone').offsetAt(0)).toBe(0);
    expect(new ZoneOffsets(null).naive).toBe(true);
  });
});

describe('stitchRows', () => {
  it('interleaves columns with prefixes and suffix, long and short cells', () => {
    const a = new CellColumn(4, 1);
    const b = new CellColumn(4, 1);
    a.reset(3);
    b.reset(3);
    const long = 'x'.repeat(100);
    for (const s of ['1', '', long]) a.pushString(s);
    for (const s of ['é', long, '']) b.pushString(s);
    const out = stitchRows([a, b], [Buffer.from('['), Buffer.from(',')], Buffer.from(']\n'), 3).toString('utf8');
    expect(out).toBe(`[1,é]\n[,${long}]\n[${long},]\n`);
    expect(stitchRows([], [], Buffer.from('\n'), 0).length).toBe(0);
  });

  it('writes every byte in place whatever the cell, prefix and suffix lengths (words never leak)', () => {
    // Deterministic, so a failure reproduces: cells of 0-70 bytes (both copy paths), prefixes of
    // 0-9 bytes and suffixes of 0-3 (a cell's last word overruns only where 3 later bytes follow),
    // over more rows than a tile.
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    for (let round = 0; round < 40; round++) {
      const ncols = 1 + next(5);
      const rows = 1 + next(1500);
      const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(33 + next(90))).join('');
      const prefixes = Array.from({ length: ncols }, () => Buffer.from(text(next(10))));
      const suffix = Buffer.from(text(next(4)));
      const cells = Array.from({ length: ncols }, () => Array.from({ length: rows }, () => text(next(5) === 0 ? next(71) : next(6))));
      const columns = cells.map((column) => {
        const col = new CellColumn(8, 1);
        col.reset(rows);
        for (const cell of column) col.pushString(cell);
        return col;
      });
      let expected = '';
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < ncols; c++) expected += prefixes[c]!.toString() + cells[c]![r]!;
        expected += suffix.toString();
      }
      expect(stitchRows(columns, prefixes, suffix, rows).toString('latin1')).toBe(expected);
    }
  });
});
