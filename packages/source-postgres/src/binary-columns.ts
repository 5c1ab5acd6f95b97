import { Decimal, makeData, type Data, type Field } from 'apache-arrow';
import { OID, planColumn, type PgField } from './columns.js';

/**
 * How one result column is decoded from binary COPY. The Arrow field is the text path's own
 * (`planColumn`), so both read modes give the same schema; only the decoding differs.
 */
export const Kind = {
  bool: 0,
  int2: 1,
  int4: 2,
  int8: 3,
  float4: 4,
  float8: 5,
  date: 6,
  timestamp: 7,
  decimal: 8,
  // The kinds from here on produce Utf8.
  numericText: 9,
  text: 10,
  jsonb: 11,
  uuid: 12,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Further built-in types (pg_type.dat) the text path keeps as Utf8 and binary COPY can give as the same text. */
export const BINARY_TEXT_OID = { name: 19, json: 114, jsonb: 3802, uuid: 2950 } as const;

/** Byte width of each fixed-width kind's binary value; -1 for variable width. */
const WIDTH: readonly number[] = [1, 2, 4, 8, 4, 8, 4, 8, -1, -1, -1, -1, 16];

/**
 * The binary kind for a column, or null when the binary decoder does not know the type (arrays,
 * intervals, enums ...): such queries are read through the text cursor instead.
 * Text-like types whose send function writes exactly their output text are copied byte for byte.
 */
function kindOf(field: PgField, arrow: Field): Kind | null {
  switch (field.dataTypeID) {
    case OID.bool:
      return Kind.bool;
    case OID.int2:
      return Kind.int2;
    case OID.int4:
      return Kind.int4;
    case OID.int8:
      return Kind.int8;
    case OID.float4:
      return Kind.float4;
    case OID.float8:
      return Kind.float8;
    case OID.date:
      return Kind.date;
    case OID.timestamp:
    case OID.timestamptz:
      return Kind.timestamp;
    case OID.numeric:
      return arrow.type instanceof Decimal ? Kind.decimal : Kind.numericText;
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case BINARY_TEXT_OID.name:
    case BINARY_TEXT_OID.json:
      return Kind.text;
    case BINARY_TEXT_OID.jsonb:
      return Kind.jsonb;
    case BINARY_TEXT_OID.uuid:
      return Kind.uuid;
    default:
      return null;
  }
}

/**
 * One column's values for the batch being filled. A single class with every buffer kind, so the
 * decoder's per-field code sees one object shape whatever the column type.
 */
export class BinaryColumn {
  readonly field: Field;
  readonly kind: Kind;
  readonly width: number;
  readonly scale: number;
  readonly utf8: boolean;
  validity = new Uint8Array(0);
  nullCount = 0;
  /** bool bits */
  u8 = new Uint8Array(0);
  i16 = new Int16Array(0);
  /** int4 and date; for int8 and timestamps, a two-words-per-value view of `wide` */
  i32 = new Int32Array(0);
  wide = new BigInt64Array(0);
  f32 = new Float32Array(0);
  f64 = new Float64Array(0);
  /** Decimal128: four little-endian uint32 words per value */
  words = new Uint32Array(0);
  offsets = new Int32Array(1);
  bytes = new Uint8Array(0);
  end = 0;

  constructor(field: Field, kind: Kind) {
    this.field = field;
    this.kind = kind;
    this.width = WIDTH[kind]!;
    this.scale = field.type instanceof Decimal ? field.type.scale : 0;
    this.utf8 = kind >= Kind.numericText;
  }

  /** Fresh buffers for a batch of up to `n` rows (the finished batch keeps the old ones). */
  start(n: number): void {
    this.validity = new Uint8Array(Math.ceil(n / 8));
    this.nullCount = 0;
    switch (this.kind) {
      case Kind.bool:
        this.u8 = new Uint8Array(Math.ceil(n / 8));
        break;
      case Kind.int2:
        this.i16 = new Int16Array(n);
        break;
      case Kind.int4:
      case Kind.date:
        this.i32 = new Int32Array(n);
        break;
      case Kind.int8:
      case Kind.timestamp:
        this.wide = new BigInt64Array(n);
        this.i32 = new Int32Array(this.wide.buffer);
        break;
      case Kind.float4:
        this.f32 = new Float32Array(n);
        break;
      case Kind.float8:
        this.f64 = new Float64Array(n);
        break;
      case Kind.decimal:
        this.words = new Uint32Array(n * 4);
        break;
      default:
        this.offsets = new Int32Array(n + 1);
        // Sized from the previous batch, so steady state never grows; at least 16 bytes a row.
        this.bytes = new Uint8Array(Math.max(1024, n * 16, this.end));
        this.end = 0;
    }
  }

  /** Room for `more` bytes of Utf8 data, doubling. */
  reserve(more: number): Uint8Array {
    if (this.end + more > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.end + more));
      grown.set(this.bytes.subarray(0, this.end));
      this.bytes = grown;
    }
    return this.bytes;
  }

  finish(n: number): Data {
    const { type } = this.field;
    const common = { type, length: n, nullCount: this.nullCount, nullBitmap: this.validity };
    switch (this.kind) {
      case Kind.bool:
        return makeData({ ...common, data: this.u8 } as never);
      case Kind.int2:
        return makeData({ ...common, data: this.i16.subarray(0, n) } as never);
      case Kind.int4:
      case Kind.date:
        return makeData({ ...common, data: this.i32.subarray(0, n) } as never);
      case Kind.int8:
      case Kind.timestamp:
        return makeData({ ...common, data: this.wide.subarray(0, n) } as never);
      case Kind.float4:
        return makeData({ ...common, data: this.f32.subarray(0, n) } as never);
      case Kind.float8:
        return makeData({ ...common, data: this.f64.subarray(0, n) } as never);
      case Kind.decimal:
        return makeData({ ...common, data: this.words.subarray(0, n * 4) } as never);
      default:
        return makeData({ ...common, valueOffsets: this.offsets.subarray(0, n + 1), data: this.bytes.subarray(0, this.end) } as never);
    }
  }
}

/** The columns for a result, or the first column whose type needs the text path. */
export function binaryColumns(fields: readonly PgField[]): { columns: BinaryColumn[] } | { unsupported: PgField } {
  const columns: BinaryColumn[] = [];
  for (const pg of fields) {
    const { field } = planColumn(pg);
    const kind = kindOf(pg, field);
    if (kind === null) return { unsupported: pg };
    columns.push(new BinaryColumn(field, kind));
  }
  return { columns };
}
