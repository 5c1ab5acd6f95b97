import { describe, expect, it } from 'vitest';
import type { ColumnType } from './catalog.js';
import { FerryError } from './errors.js';
import type { FilterValue } from './query.js';
import { checkValue, compareValues } from './values.js';

function fits(type: ColumnType, value: FilterValue): boolean {
  try {
    checkValue(type, 'column "c"', value, ['filters', 0, 'filter', 'equals']);
    return true;
  } catch (err) {
    if (err instanceof FerryError && err.code === 'TYPE_MISMATCH') return false;
    throw err;
  }
}

const cases: Record<ColumnType, { valid: FilterValue[]; invalid: FilterValue[] }> = {
  string: { valid: ['', 'Seattle, WA', '1'], invalid: [1, true] },
  integer: {
    valid: [0, -1, 2 ** 31 - 1, -(2 ** 31)],
    invalid: [2 ** 31, -(2 ** 31) - 1, 1.5, '1', true, Number.NaN],
  },
  bigint: {
    // Beyond 2^53 a JSON number has lost digits: such values must come as text.
    valid: [0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, '9223372036854775807', '-9223372036854775808', '-1', '42'],
    invalid: [2 ** 53, 1.5, '9223372036854775808', '-9223372036854775809', '00000000000000000001', '1.5', '', ' 1', '1 ', '+1', 'x1', true],
  },
  double: {
    valid: [0, -2.5, 1e300, '10.50', '-3', '007'],
    invalid: [Number.POSITIVE_INFINITY, Number.NaN, '1e5', '.5', '1.', '-', '1,5', ' 1', '1 ', 'x', false],
  },
  decimal: {
    valid: [0.1, '123456789012345678901234567890.123456789', '-0.5'],
    invalid: [Number.NEGATIVE_INFINITY, '1e5', '1.2.3', 'NaN', true],
  },
  boolean: { valid: [true, false], invalid: ['true', 1, 0] },
  date: {
    valid: ['2024-01-01', '2024-02-29', '1999-12-31'],
    invalid: ['2024-1-01', '2024-01-01T00:00:00Z', ' 2024-01-01', '2024-01-01 ', '2024-13-01', '2024-01-32', '2023-02-29', '2024-04-31', 'yesterday', 20240101],
  },
  timestamp: {
    valid: [
      '2024-01-01',
      '2024-01-01T10:00',
      '2024-01-01 10:00:00',
      '2024-01-01T10:00:00.123456Z',
      '2024-01-01T10:00:00+02:00',
      '2024-01-01T10:00:00-0530',
      '2024-02-29T23:59:59Z',
    ],
    invalid: ['2024-01-01T10', '2024-01-01T10:00:00 Z', 'x2024-01-01', '2024-01-01T10:00x', '2024-01-01T25:00:00Z', '2024-02-30T10:00:00Z', '2023-02-29 00:00', 'now', 1_704_067_200_000],
  },
};

describe('checkValue', () => {
  for (const [type, { valid, invalid }] of Object.entries(cases) as Array<[ColumnType, (typeof cases)[ColumnType]]>) {
    it(`accepts valid ${type} values and refuses the rest`, () => {
      expect(valid.filter((v) => !fits(type, v))).toEqual([]);
      expect(invalid.filter((v) => fits(type, v))).toEqual([]);
    });
  }

  it('refuses with TYPE_MISMATCH at the value’s path, quoting the value, the type and the subject', () => {
    let caught: unknown;
    try {
      checkValue('integer', 'column "bed"', 'two', ['dataset', 'filters', 0, 'filter', 'in', 1]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FerryError);
    expect(caught).toMatchObject({ code: 'TYPE_MISMATCH', status: 400, message: '"two" is not a valid integer for column "bed"', path: ['dataset', 'filters', 0, 'filter', 'in', 1] });
  });
});

describe('compareValues', () => {
  const sign = (type: ColumnType, a: FilterValue, b: FilterValue) => Math.sign(compareValues(type, a, b));

  it('orders text by code point, as COLLATE "C" does, and a prefix first', () => {
    expect(sign('string', 'a', 'b')).toBe(-1);
    expect(sign('string', 'b', 'a')).toBe(1);
    expect(sign('string', 'same', 'same')).toBe(0);
    expect(sign('string', 'Z', 'a')).toBe(-1);
    expect(sign('string', 'ab', 'a')).toBe(1);
    expect(sign('string', 'a', 'ab')).toBe(-1);
    // UTF-16 would put the emoji (a surrogate pair, 0xD83D...) before U+FFFF; its code point is larger.
    expect(sign('string', '\u{1F600}', '\uFFFF')).toBe(1);
    expect(sign('string', '\u{1F600}x', '\u{1F600}y')).toBe(-1);
  });

  it('orders integers and doubles as numbers, text or not', () => {
    expect(compareValues('integer', 2, 10)).toBe(-8);
    expect(compareValues('double', '10.5', 9)).toBe(1.5);
    expect(compareValues('double', 1, 1)).toBe(0);
  });

  it('orders bigints exactly, past what a double can tell apart', () => {
    expect(compareValues('bigint', '9223372036854775807', '9223372036854775806')).toBe(1);
    expect(compareValues('bigint', '9223372036854775806', '9223372036854775807')).toBe(-1);
    expect(compareValues('bigint', 5, '5')).toBe(0);
  });

  it('orders decimals exactly, whatever their scale or notation', () => {
    expect(compareValues('decimal', '0.1', '0.10')).toBe(0);
    expect(compareValues('decimal', '10.5', 2)).toBe(1);
    expect(compareValues('decimal', '2', '10.5')).toBe(-1);
    expect(compareValues('decimal', '-1.5', '-1.25')).toBe(-1);
    expect(compareValues('decimal', '-0.5', 0)).toBe(-1);
    expect(compareValues('decimal', '0.30000000000000001', '0.3')).toBe(1);
    expect(compareValues('decimal', 1e-7, '0.0000001')).toBe(0);
    expect(compareValues('decimal', 1e-7, '0.0000002')).toBe(-1);
    expect(compareValues('decimal', 0.1, '0.099')).toBe(1);
  });

  it('orders decimals given as numbers of 1e21 and more, which JavaScript writes with an exponent', () => {
    expect(compareValues('decimal', 1e21, 2e21)).toBe(-1);
    expect(compareValues('decimal', 1e21, '1000000000000000000000')).toBe(0);
    expect(compareValues('decimal', -1e21, 5)).toBe(-1);
    expect(compareValues('decimal', '1000000000000000000000.5', 1e21)).toBe(1);
  });

  it('puts false before true', () => {
    expect(compareValues('boolean', false, true)).toBe(-1);
    expect(compareValues('boolean', true, false)).toBe(1);
    expect(compareValues('boolean', true, true)).toBe(0);
  });

  it('orders dates by their text and timestamps by the instant they name', () => {
    expect(sign('date', '2024-01-31', '2024-02-01')).toBe(-1);
    expect(sign('date', '2024-02-01', '2024-01-31')).toBe(1);
    expect(sign('date', '2024-02-01', '2024-02-01')).toBe(0);
    // 01:00 at +02:00 is an hour before midnight UTC, although its text sorts after.
    expect(compareValues('timestamp', '2024-01-01T01:00:00+02:00', '2024-01-01T00:00:00Z')).toBe(-3_600_000);
    expect(compareValues('timestamp', '2024-01-01', '2024-01-01T00:00:00Z')).toBe(0);
  });
});
