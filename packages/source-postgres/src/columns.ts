import {
  Bool,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import { FerryError } from '@ferry/core';
import { writeDecimal128 } from './decimal.js';
import { parseDate, parseTimestamp } from './temporal.js';

/** A column of a result as PostgreSQL describes it (node-postgres' FieldDef). */
export interface PgField {
  name: string;
  dataTypeID: number;
  dataTypeModifier: number;
}

/** Every value arrives as PostgreSQL's text form (see TEXT_TYPES), or null. */
export type Row = ReadonlyArray<string | null>;

/** Type OIDs from pg_type.dat; they are fixed for built-in types. */
export const OID = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
} as const;

interface ColumnPlan {
  field: Field;
  /** Convert column `col` of `rows`, column-wise, into Arrow data. */
  build(rows: readonly Row[], col: number): Data;
}

class Validity {
  readonly bits: Uint8Array;
  nullCount = 0;
  constructor(length: number) {
    this.bits = new Uint8Array(Math.ceil(length / 8));
  }
  set(i: number, valid: boolean): void {
    if (valid) this.bits[i >> 3]! |= 1 << (i & 7);
    else this.nullCount++;
  }
}

export function unrepresentable(field: string, text: string, type: string): FerryError {
  return new FerryError('QUERY_FAILED', `column "${field}" holds ${JSON.stringify(text)}, which has no ${type} representation`, {
    plugin: 'source:postgres',
  });
}

/**
 * Fixed-width values: one typed array per batch, parsed from text. 64-bit values (int8,
 * timestamps) go into a BigInt64Array, parsed as BigInt, so int8 beyond 2^53 stays exact.
 */
function typed<V extends number | bigint>(
  name: string,
  type: DataType,
  allocate: (n: number) => { [index: number]: V },
  parse: (text: string) => V | null,
): ColumnPlan {
  return {
    field: new Field(name, type, true),
    build(rows, col) {
      const n = rows.length;
      const values = allocate(n);
      const validity = new Validity(n);
      for (let r = 0; r < n; r++) {
        const text = rows[r]![col];
        if (text === null || text === undefined) {
          validity.set(r, false);
          continue;
        }
        const v = parse(text);
        if (v === null) throw unrepresentable(name, text, String(type));
        values[r] = v;
        validity.set(r, true);
      }
      return makeData({ type, length: n, nullCount: validity.nullCount, nullBitmap: validity.bits, data: values } as never);
    },
  };
}

function fixed<T extends Int16 | Int32 | Float32 | Float64 | DateDay>(
  name: string,
  type: T,
  ArrayType: new (n: number) => Int16Array | Int32Array | Float32Array | Float64Array,
  parse: (text: string) => number | null,
): ColumnPlan {
  return typed<number>(name, type, (n) => new ArrayType(n), parse);
}

function wide(name: string, type: Int64 | TimestampMicrosecond, parse: (text: string) => bigint | null): ColumnPlan {
  return typed<bigint>(name, type, (n) => new BigInt64Array(n), parse);
}

function bool(name: string): ColumnPlan {
  return {
    field: new Field(name, new Bool(), true),
    build(rows, col) {
      const n = rows.length;
      const values = new Uint8Array(Math.ceil(n / 8));
      const validity = new Validity(n);
      for (let r = 0; r < n; r++) {
        const text = rows[r]![col];
        validity.set(r, text !== null && text !== undefined);
        if (text === 't') values[r >> 3]! |= 1 << (r & 7);
      }
      return makeData({ type: new Bool(), length: n, nullCount: validity.nullCount, nullBitmap: validity.bits, data: values });
    },
  };
}

function decimal(name: string, precision: number, scale: number): ColumnPlan {
  const type = new Decimal(scale, precision, 128);
  return {
    field: new Field(name, type, true),
    build(rows, col) {
      const n = rows.length;
      const words = new Uint32Array(n * 4);
      const validity = new Validity(n);
      for (let r = 0; r < n; r++) {
        const text = rows[r]![col];
        if (text === null || text === undefined) {
          validity.set(r, false);
          continue;
        }
        if (!writeDecimal128(text, scale, words, r)) throw unrepresentable(name, text, String(type));
        validity.set(r, true);
      }
      return makeData({ type, length: n, nullCount: validity.nullCount, nullBitmap: validity.bits, data: words });
    },
  };
}

const encoder = new TextEncoder();

/** Text as UTF-8 with int32 offsets; the buffer grows by doubling, sized for the batch at hand. */
function utf8(name: string): ColumnPlan {
  return {
    field: new Field(name, new Utf8(), true),
    build(rows, col) {
      const n = rows.length;
      const offsets = new Int32Array(n + 1);
      const validity = new Validity(n);
      let bytes = new Uint8Array(Math.max(1024, n * 16));
      let end = 0;
      for (let r = 0; r < n; r++) {
        const text = rows[r]![col];
        if (text !== null && text !== undefined) {
          // A UTF-16 unit never needs more than 3 UTF-8 bytes.
          if (end + text.length * 3 > bytes.length) {
            const grown = new Uint8Array(Math.max(bytes.length * 2, end + text.length * 3));
            grown.set(bytes.subarray(0, end));
            bytes = grown;
          }
          end += encoder.encodeInto(text, bytes.subarray(end)).written;
        }
        validity.set(r, text !== null && text !== undefined);
        offsets[r + 1] = end;
      }
      return makeData({ type: new Utf8(), length: n, nullCount: validity.nullCount, nullBitmap: validity.bits, valueOffsets: offsets, data: bytes.subarray(0, end) });
    },
  };
}

const parseInteger = (text: string): number => Number(text);
const parseBigInt = (text: string): bigint => BigInt(text);
/** Shortest-exact float text (and NaN, Infinity, -Infinity) reads back exactly with Number. */
const parseFloat = (text: string): number => Number(text);

/** numeric(p, s) has typmod ((p << 16) | s) + 4; -1 means unconstrained. */
function numericTypmod(typmod: number): { precision: number; scale: number } | null {
  if (typmod < 4) return null;
  const t = typmod - 4;
  return { precision: (t >> 16) & 0xffff, scale: t & 0xffff };
}

/**
 * The Arrow column for a PostgreSQL result column. numeric with a declared precision up to 38
 * becomes Decimal128 with its scale; unconstrained numeric (any scale per value, NaN, Infinity)
 * and precision above 38 stay exact as Utf8 text. Types without an Arrow twin here are Utf8 in
 * PostgreSQL's text form.
 */
export function planColumn(field: PgField): ColumnPlan {
  const { name } = field;
  switch (field.dataTypeID) {
    case OID.bool:
      return bool(name);
    case OID.int2:
      return fixed(name, new Int16(), Int16Array, parseInteger);
    case OID.int4:
      return fixed(name, new Int32(), Int32Array, parseInteger);
    case OID.int8:
      return wide(name, new Int64(), parseBigInt);
    case OID.float4:
      return fixed(name, new Float32(), Float32Array, parseFloat);
    case OID.float8:
      return fixed(name, new Float64(), Float64Array, parseFloat);
    case OID.date:
      return fixed(name, new DateDay(), Int32Array, parseDate);
    case OID.timestamp:
      return wide(name, new TimestampMicrosecond(), parseTimestamp);
    case OID.timestamptz:
      return wide(name, new TimestampMicrosecond('UTC'), parseTimestamp);
    case OID.numeric: {
      const typmod = numericTypmod(field.dataTypeModifier);
      return typmod && typmod.precision <= 38 ? decimal(name, typmod.precision, typmod.scale) : utf8(name);
    }
    default:
      return utf8(name);
  }
}

/** A result's Arrow schema and the converter for its batches. */
export class BatchPlan {
  readonly schema: Schema;
  readonly #columns: ColumnPlan[];

  constructor(fields: readonly PgField[]) {
    this.#columns = fields.map(planColumn);
    this.schema = new Schema(this.#columns.map((c) => c.field));
  }

  toBatch(rows: readonly Row[]): RecordBatch {
    const children = this.#columns.map((c, i) => c.build(rows, i));
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: rows.length, nullCount: 0, children }));
  }
}
