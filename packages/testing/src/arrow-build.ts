import {
  Bool, DateDay, Decimal, Field, Float64, Int16, Int32, Int64, makeData, RecordBatch, Schema, Struct, TimeUnit,
  Timestamp, Utf8, vectorFromArray, type Data, type DataType,
} from 'apache-arrow';

/*
 * Small builders for exact Arrow test data. They write the storage buffers directly (BigInt64Array,
 * decimal words) so the fixture holds exactly the values the assertions expect, with no rounding
 * through JS numbers or Date objects.
 */

function validity(values: readonly unknown[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8) || 1);
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

export function int32Data(values: readonly (number | null)[]): Data<Int32> {
  return makeData({ type: new Int32(), length: values.length, data: Int32Array.from(values, (v) => v ?? 0), ...validity(values) });
}

export function int16Data(values: readonly (number | null)[]): Data<Int16> {
  return makeData({ type: new Int16(), length: values.length, data: Int16Array.from(values, (v) => v ?? 0), ...validity(values) });
}

export function int64Data(values: readonly (bigint | null)[]): Data<Int64> {
  return makeData({ type: new Int64(), length: values.length, data: BigInt64Array.from(values, (v) => v ?? 0n), ...validity(values) });
}

export function float64Data(values: readonly (number | null)[]): Data<Float64> {
  return makeData({ type: new Float64(), length: values.length, data: Float64Array.from(values, (v) => v ?? 0), ...validity(values) });
}

export function boolData(values: readonly (boolean | null)[]): Data<Bool> {
  return vectorFromArray(values, new Bool()).data[0]!;
}

export function utf8Data(values: readonly (string | null)[]): Data<Utf8> {
  return vectorFromArray(values, new Utf8()).data[0]!;
}

/** Days since 1970-01-01. */
export function dateDayData(values: readonly (number | null)[]): Data<DateDay> {
  return makeData({ type: new DateDay(), length: values.length, data: Int32Array.from(values, (v) => v ?? 0), ...validity(values) });
}

export function timestampData(values: readonly (bigint | null)[], unit: TimeUnit, timezone: string | null): Data<Timestamp> {
  const type = new Timestamp(unit, timezone);
  return makeData({ type, length: values.length, data: BigInt64Array.from(values, (v) => v ?? 0n), ...validity(values) });
}

/** Decimal128 from exact strings such as `-12.3400` (the string's fraction must have `scale` digits or fewer). */
export function decimalData(values: readonly (string | null)[], precision: number, scale: number): Data<Decimal> {
  const words = new Uint32Array(values.length * 4);
  values.forEach((v, i) => {
    if (v === null) return;
    let unscaled = decimalToUnscaled(v, scale);
    if (unscaled < 0n) unscaled += 1n << 128n;
    for (let k = 0; k < 4; k++) words[i * 4 + k] = Number((unscaled >> BigInt(32 * k)) & 0xffffffffn);
  });
  return makeData({ type: new Decimal(scale, precision, 128), length: values.length, data: words, ...validity(values) });
}

export function decimalToUnscaled(text: string, scale: number): bigint {
  const negative = text.startsWith('-');
  const [int = '0', frac = ''] = text.replace(/^[-+]/, '').split('.');
  if (frac.length > scale) throw new Error(`${text} has more than ${scale} fraction digits`);
  const digits = BigInt(int + frac.padEnd(scale, '0'));
  return negative ? -digits : digits;
}

/** A record batch from named column data (all of the same length). */
export function batchOf(columns: ReadonlyArray<readonly [string, Data]>): RecordBatch {
  const fields = columns.map(([name, data]) => new Field(name, data.type as DataType, true));
  const length = columns[0]?.[1].length ?? 0;
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children: columns.map(([, d]) => d) });
  return new RecordBatch(new Schema(fields), struct);
}
