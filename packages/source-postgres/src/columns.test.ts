import { describe, expect, it } from 'vitest';
import { BatchPlan, OID, planColumn } from './columns.js';
import { parseDate, parseTimestamp } from './temporal.js';

describe('PostgreSQL text to Arrow', () => {
  it('keeps types without an Arrow twin, and numeric without a usable precision, as Utf8 text', () => {
    const field = (dataTypeID: number, dataTypeModifier = -1) => String(planColumn({ name: 'x', dataTypeID, dataTypeModifier }).field.type);
    expect(field(3802)).toBe('Utf8'); // jsonb
    expect(field(2950)).toBe('Utf8'); // uuid
    expect(field(OID.numeric)).toBe('Utf8');
    expect(field(OID.numeric, ((40 << 16) | 2) + 4)).toBe('Utf8');
    expect(field(OID.numeric, ((38 << 16) | 10) + 4)).toBe('Decimal[38e+10]');
    const plan = new BatchPlan([{ name: 'doc', dataTypeID: 3802, dataTypeModifier: -1 }]);
    expect([...plan.toBatch([['{"a": 1}'], [null]]).getChild('doc')!]).toEqual(['{"a": 1}', null]);
  });

  it('parses dates and timestamps with integer arithmetic (BC, offsets, fractions)', () => {
    expect(parseDate('1970-01-01')).toBe(0);
    expect(parseDate('0001-01-01 BC')).toBe(-719_528); // proleptic year 0
    expect(parseDate('2024-02-29')).toBe(Date.UTC(2024, 1, 29) / 86_400_000);
    expect(parseDate('infinity')).toBeNull();
    expect(parseTimestamp('1970-01-01 00:00:00.000001')).toBe(1n);
    expect(parseTimestamp('2024-01-01 10:00:00.5+02')).toBe(BigInt(Date.UTC(2024, 0, 1, 8)) * 1000n + 500_000n);
    expect(parseTimestamp('2024-01-01 10:00:00-03:30')).toBe(BigInt(Date.UTC(2024, 0, 1, 13, 30)) * 1000n);
    expect(parseTimestamp('-infinity')).toBeNull();
    // int64 microseconds since 1970 end on 294247-01-10; a BigInt64Array would silently wrap later instants.
    expect(parseTimestamp('294247-01-10 04:00:54.775807')).toBe(2n ** 63n - 1n);
    expect(parseTimestamp('294247-01-10 04:00:54.775808')).toBeNull();
  });
});
