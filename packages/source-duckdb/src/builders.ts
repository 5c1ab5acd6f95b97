import {
  Binary,
  Bool,
  DateDay,
  Decimal,
  Field,
  Float,
  Float32,
  Float64,
  Int,
  Int16,
  Int32,
  Int64,
  Int8,
  makeData,
  TimeMicrosecond,
  Timestamp,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import { DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import { appendStrings, publicVector, rawData, rawValidity, type ChunkColumn } from './raw.js';
import { ValidityBuilder } from './validity.js';

/**
 * Column-wise conversion from DuckDB chunks to Arrow. One builder per column per batch: it owns
 * buffers preallocated for the whole batch, takes rows from as many DuckDB chunks (2,048 rows
 * each) as the batch spans, and hands its buffers to Arrow without another copy.
 */
export interface ColumnBuilder {
  /** Append rows [from, to) of the chunk column at the builder's current end. */
  append(column: ChunkColumn, from: number, to: number): void;
  finish(): Data;
}

type FixedType = Int | Float | DateDay | Timestamp | TimeMicrosecond;
type FixedArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** Fixed-width values whose DuckDB and Arrow layouts agree: a byte copy per chunk. */
class FixedBuilder implements ColumnBuilder {
  private length = 0;
  private readonly validity: ValidityBuilder;
  private readonly bytes: Uint8Array;

  constructor(
    private readonly type: FixedType,
    private readonly values: FixedArray,
  ) {
    this.validity = new ValidityBuilder(values.length);
    this.bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  }

  append(column: ChunkColumn, from: number, to: number): void {
    const width = this.values.BYTES_PER_ELEMENT;
    // Null slots carry whatever DuckDB left there; Arrow ignores values under a cleared validity bit.
    this.bytes.set(rawData(column, width).subarray(from * width, to * width), this.length * width);
    this.validity.copy(rawValidity(column), from, to, this.length);
    this.length += to - from;
  }

  finish(): Data {
    const { type, length, validity } = this;
    const nullBitmap = validity.finish(length);
    const nullCount = validity.nullCount;
    const values = this.values.subarray(0, length);
    // makeData's overloads are per type family; narrow so the right one applies.
    if (type instanceof Int) return makeData({ type, length, nullCount, nullBitmap, data: values });
    if (type instanceof Float) return makeData({ type, length, nullCount, nullBitmap, data: values as Float['TArray'] });
    if (type instanceof DateDay) return makeData({ type, length, nullCount, nullBitmap, data: values as Int32Array });
    if (type instanceof Timestamp) return makeData({ type, length, nullCount, nullBitmap, data: values as BigInt64Array });
    return makeData({ type, length, nullCount, nullBitmap, data: values as BigInt64Array });
  }
}

/** DuckDB BOOLEAN is a byte per value; Arrow packs bits. */
class BoolBuilder implements ColumnBuilder {
  private length = 0;
  private readonly validity: ValidityBuilder;
  private readonly values: Uint8Array;

  constructor(capacity: number) {
    this.validity = new ValidityBuilder(capacity);
    this.values = new Uint8Array(Math.ceil(capacity / 8));
  }

  append(column: ChunkColumn, from: number, to: number): void {
    const data = rawData(column, 1);
    const values = this.values;
    let row = this.length;
    for (let i = from; i < to; i++, row++) if (data[i]) values[row >> 3]! |= 1 << (row & 7);
    this.validity.copy(rawValidity(column), from, to, this.length);
    this.length = row;
  }

  finish(): Data {
    const { length, validity } = this;
    const data = this.values.subarray(0, Math.ceil(length / 8));
    return makeData({ type: new Bool(), length, nullCount: validity.nullCount, nullBitmap: validity.finish(length), data });
  }
}

/**
 * Arrow decimals here are 128-bit little-endian two's complement (four uint32 words a value).
 * DuckDB stores DECIMAL(w,s) in 2, 4, 8 or 16 bytes by width (HUGEINT in 16): narrower values are
 * copied into the low words and sign-extended; 16-byte values already have Arrow's layout.
 */
class DecimalBuilder implements ColumnBuilder {
  private length = 0;
  private readonly validity: ValidityBuilder;
  private readonly words: Uint32Array;

  constructor(
    private readonly type: Decimal,
    private readonly width: 2 | 4 | 8 | 16,
    capacity: number,
  ) {
    this.validity = new ValidityBuilder(capacity);
    this.words = new Uint32Array(capacity * 4);
  }

  append(column: ChunkColumn, from: number, to: number): void {
    const { width, words } = this;
    const data = rawData(column, width);
    if (width === 16) {
      new Uint8Array(words.buffer).set(data.subarray(from * 16, to * 16), this.length * 16);
    } else {
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let w = this.length * 4;
      for (let i = from; i < to; i++, w += 4) {
        if (width === 8) {
          words[w] = view.getUint32(i * 8, true);
          const high = view.getInt32(i * 8 + 4, true);
          words[w + 1] = high;
          words[w + 2] = words[w + 3] = high < 0 ? 0xffffffff : 0;
        } else {
          const v = width === 4 ? view.getInt32(i * 4, true) : view.getInt16(i * 2, true);
          words[w] = v;
          words[w + 1] = words[w + 2] = words[w + 3] = v < 0 ? 0xffffffff : 0;
        }
      }
    }
    this.validity.copy(rawValidity(column), from, to, this.length);
    this.length += to - from;
  }

  finish(): Data {
    const { type, length, validity } = this;
    return makeData({ type, length, nullCount: validity.nullCount, nullBitmap: validity.finish(length), data: this.words.subarray(0, length * 4) });
  }
}

/** Growable byte buffer plus int32 offsets: the Utf8/Binary layout. */
class VarBytes {
  readonly offsets: Int32Array;
  bytes: Uint8Array;
  end = 0;

  constructor(capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = new Uint8Array(Math.max(1024, capacity * 16));
  }

  reserve(extra: number): void {
    const needed = this.end + extra;
    if (needed <= this.bytes.length) return;
    // Arrow Utf8 offsets are int32: one batch's values must stay under 2 GiB.
    if (needed > 2 ** 31 - 1) throw new RangeError('a batch of strings exceeds 2 GiB; use a smaller batchRows');
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(Math.min(size, 2 ** 31 - 1));
    grown.set(this.bytes.subarray(0, this.end));
    this.bytes = grown;
  }

  data(type: Utf8 | Binary, length: number, validity: ValidityBuilder): Data {
    const common = {
      length,
      nullCount: validity.nullCount,
      nullBitmap: validity.finish(length),
      valueOffsets: this.offsets.subarray(0, length + 1),
      data: this.bytes.subarray(0, this.end),
    };
    return type instanceof Utf8 ? makeData({ type, ...common }) : makeData({ type, ...common });
  }
}

/** VARCHAR (already UTF-8) and BLOB: bytes copied straight from DuckDB's string structs. */
class StringBuilder implements ColumnBuilder {
  private length = 0;
  private readonly validity: ValidityBuilder;
  private readonly out: VarBytes;

  constructor(
    private readonly type: Utf8 | Binary,
    capacity: number,
  ) {
    this.validity = new ValidityBuilder(capacity);
    this.out = new VarBytes(capacity);
  }

  append(column: ChunkColumn, from: number, to: number): void {
    appendStrings(rawData(column, 16), rawValidity(column), from, to, this.out, this.length, this.#setValid);
    this.length += to - from;
  }

  readonly #setValid = (row: number, valid: boolean): void => this.validity.set(row, valid);

  finish(): Data {
    return this.out.data(this.type, this.length, this.validity);
  }
}

/**
 * Types with no Arrow twin here (INTERVAL, LIST, STRUCT, MAP, UUID, ENUM, UHUGEINT, TIME_TZ ...):
 * the value's DuckDB text form, read through node-api. Slow per value, but only for exotic
 * columns; every catalog ColumnType maps to a fast builder above.
 */
class TextBuilder implements ColumnBuilder {
  private length = 0;
  private readonly validity: ValidityBuilder;
  private readonly out: VarBytes;
  private static readonly encoder = new TextEncoder();

  constructor(capacity: number) {
    this.validity = new ValidityBuilder(capacity);
    this.out = new VarBytes(capacity);
  }

  append(column: ChunkColumn, from: number, to: number): void {
    const vector = publicVector(column);
    const out = this.out;
    let row = this.length;
    for (let i = from; i < to; i++, row++) {
      const value = vector.getItem(i);
      if (value !== null) {
        const text = String(value);
        out.reserve(text.length * 3); // a UTF-16 unit never needs more than 3 UTF-8 bytes
        out.end += TextBuilder.encoder.encodeInto(text, out.bytes.subarray(out.end)).written;
      }
      this.validity.set(row, value !== null);
      out.offsets[row + 1] = out.end;
    }
    this.length = row;
  }

  finish(): Data {
    return this.out.data(new Utf8(), this.length, this.validity);
  }
}

/** The Arrow field for a DuckDB result column, and a factory for its builder. */
export interface ColumnPlan {
  field: Field;
  builder(capacity: number): ColumnBuilder;
}

type FixedCtor = new (length: number) => FixedArray;

/** DuckDB's physical width for DECIMAL(width, scale). */
function decimalWidth(width: number): 2 | 4 | 8 | 16 {
  return width <= 4 ? 2 : width <= 9 ? 4 : width <= 18 ? 8 : 16;
}

export function planColumn(name: string, type: DuckDBType): ColumnPlan {
  const plan = (arrowType: DataType, builder: (capacity: number) => ColumnBuilder): ColumnPlan => ({
    field: new Field(name, arrowType, true),
    builder,
  });
  const fixed = (arrowType: FixedType, Ctor: FixedCtor): ColumnPlan => plan(arrowType, (n) => new FixedBuilder(arrowType, new Ctor(n)));
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return plan(new Bool(), (n) => new BoolBuilder(n));
    case DuckDBTypeId.TINYINT:
      return fixed(new Int8(), Int8Array);
    case DuckDBTypeId.SMALLINT:
      return fixed(new Int16(), Int16Array);
    case DuckDBTypeId.INTEGER:
      return fixed(new Int32(), Int32Array);
    case DuckDBTypeId.BIGINT:
      return fixed(new Int64(), BigInt64Array);
    case DuckDBTypeId.UTINYINT:
      return fixed(new Uint8(), Uint8Array);
    case DuckDBTypeId.USMALLINT:
      return fixed(new Uint16(), Uint16Array);
    case DuckDBTypeId.UINTEGER:
      return fixed(new Uint32(), Uint32Array);
    case DuckDBTypeId.UBIGINT:
      return fixed(new Uint64(), BigUint64Array);
    case DuckDBTypeId.FLOAT:
      return fixed(new Float32(), Float32Array);
    case DuckDBTypeId.DOUBLE:
      return fixed(new Float64(), Float64Array);
    case DuckDBTypeId.DATE:
      // Both count days since 1970-01-01 in an int32.
      return fixed(new DateDay(), Int32Array);
    case DuckDBTypeId.TIME:
      return fixed(new TimeMicrosecond(), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP:
      return fixed(new TimestampMicrosecond(), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP_TZ:
      // DuckDB stores TIMESTAMPTZ as UTC microseconds.
      return fixed(new TimestampMicrosecond('UTC'), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP_S:
      return fixed(new TimestampSecond(), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP_MS:
      return fixed(new TimestampMillisecond(), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP_NS:
      return fixed(new TimestampNanosecond(), BigInt64Array);
    case DuckDBTypeId.HUGEINT: {
      // INT128 as a scale-0 decimal: Arrow has no 128-bit integer. Precision 38 is Arrow's maximum
      // for 128 bits; values beyond 38 digits keep their bits but exceed the declared precision.
      const dec = new Decimal(0, 38, 128);
      return plan(dec, (n) => new DecimalBuilder(dec, 16, n));
    }
    case DuckDBTypeId.DECIMAL: {
      const dec = new Decimal(type.scale, type.width, 128);
      return plan(dec, (n) => new DecimalBuilder(dec, decimalWidth(type.width), n));
    }
    case DuckDBTypeId.VARCHAR:
      return plan(new Utf8(), (n) => new StringBuilder(new Utf8(), n));
    case DuckDBTypeId.BLOB:
      return plan(new Binary(), (n) => new StringBuilder(new Binary(), n));
    default:
      return plan(new Utf8(), (n) => new TextBuilder(n));
  }
}
