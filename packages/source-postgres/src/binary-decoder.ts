import { makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import { FerryError } from '@ferry/core';
import { BinaryColumn, Kind } from './binary-columns.js';
import { unrepresentable } from './columns.js';
import { numericScale, numericSpecial, numericText, writeNumericDecimal128 } from './numeric.js';
import { PLUGIN } from './session.js';

/** `PGCOPY\n\377\r\n\0`, then int32 flags and an int32 header-extension length. */
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER = SIGNATURE.length + 8;
/** Flags bit 16: each tuple carries an OID (never asked for). */
const HAS_OIDS = 1 << 16;

/** PostgreSQL counts dates and timestamps from 2000-01-01, Arrow from 1970-01-01. */
const EPOCH_DAYS = 10_957;
const TWO32 = 2 ** 32;
const EPOCH_MICROS = EPOCH_DAYS * 86_400 * 1_000_000;
const EPOCH_MICROS_HI = Math.floor(EPOCH_MICROS / TWO32);
const EPOCH_MICROS_LO = EPOCH_MICROS % TWO32;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

const HEX = Array.from({ length: 16 }, (_, i) => '0123456789abcdef'.charCodeAt(i));

function malformed(detail: string): FerryError {
  return new FerryError('INTERNAL', `unexpected binary COPY data from PostgreSQL: ${detail}`, { plugin: PLUGIN });
}

/**
 * PostgreSQL's binary COPY stream to Arrow batches, incrementally: chunks may split a tuple (or
 * the header) anywhere. Each tuple is checked complete before any of it is decoded, so a split
 * tuple waits for the next chunk. Values go straight into the batch's typed arrays; text is copied
 * as UTF-8 bytes, never decoded to JavaScript strings.
 */
export class BinaryDecoder {
  readonly schema: Schema;
  readonly #columns: BinaryColumn[];
  readonly #batchRows: number;
  #buf: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(this.#buf.buffer);
  #pos = 0;
  #header = false;
  #trailer = false;
  #rows = 0;

  constructor(columns: BinaryColumn[], batchRows: number) {
    this.#columns = columns;
    this.#batchRows = batchRows;
    this.schema = new Schema(columns.map((c) => c.field));
    for (const c of columns) c.start(batchRows);
  }

  /** Add the next chunk after whatever of the previous one is not decoded yet (part of one tuple, at most). */
  push(chunk: Uint8Array): void {
    const rest = this.#buf.length - this.#pos;
    let buf = chunk;
    if (rest > 0) {
      buf = new Uint8Array(rest + chunk.length);
      buf.set(this.#buf.subarray(this.#pos));
      buf.set(chunk, rest);
    }
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#pos = 0;
  }

  /**
   * The next batch of `batchRows` rows from the bytes pushed so far, or the last, shorter one once
   * the trailer is read; null when more input is needed (or nothing is left).
   */
  take(): RecordBatch | null {
    if (!this.#header && !this.#readHeader()) return null;
    const buf = this.#buf;
    const view = this.#view;
    const limit = buf.length;
    const ncols = this.#columns.length;
    let pos = this.#pos;
    while (this.#rows < this.#batchRows && !this.#trailer) {
      if (pos + 2 > limit) break;
      const count = view.getInt16(pos);
      if (count === -1) {
        this.#trailer = true;
        pos += 2;
        break;
      }
      if (count !== ncols) throw malformed(`a tuple of ${count} fields, expected ${ncols}`);
      let end = pos + 2;
      for (let c = 0; c < ncols && end <= limit; c++) {
        if (end + 4 > limit) {
          end = limit + 1;
          break;
        }
        const len = view.getInt32(end);
        end += 4 + (len > 0 ? len : 0);
      }
      if (end > limit) break;
      this.#decodeRow(buf, view, pos + 2, this.#rows);
      this.#rows++;
      pos = end;
    }
    this.#pos = pos;
    if (this.#trailer && pos < limit) throw malformed('bytes after the trailer');
    return this.#rows === this.#batchRows || (this.#trailer && this.#rows > 0) ? this.#emit() : null;
  }

  /** The stream ended: it must have ended at the trailer, with every row handed out. */
  end(): void {
    if (!this.#trailer || this.#rows > 0) throw malformed('the stream ended before its trailer');
  }

  #readHeader(): boolean {
    const view = this.#view;
    if (this.#buf.length < HEADER) return false;
    for (let i = 0; i < SIGNATURE.length; i++) if (this.#buf[i] !== SIGNATURE[i]) throw malformed('no PGCOPY signature');
    if (view.getInt32(SIGNATURE.length) & HAS_OIDS) throw malformed('tuples with OIDs');
    const extension = view.getInt32(SIGNATURE.length + 4);
    if (this.#buf.length < HEADER + extension) return false;
    this.#pos = HEADER + extension;
    this.#header = true;
    return true;
  }

  #emit(): RecordBatch {
    const n = this.#rows;
    const children = this.#columns.map((c) => c.finish(n));
    for (const c of this.#columns) c.start(this.#batchRows);
    this.#rows = 0;
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children }));
  }

  #decodeRow(buf: Uint8Array, view: DataView, start: number, row: number): void {
    const columns = this.#columns;
    let pos = start;
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      const len = view.getInt32(pos);
      pos += 4;
      if (len < 0) {
        col.nullCount++;
        if (col.utf8) col.offsets[row + 1] = col.end;
        continue;
      }
      if (col.width >= 0 && len !== col.width) throw malformed(`${len} bytes for column "${col.field.name}" (${String(col.field.type)})`);
      col.validity[row >> 3]! |= 1 << (row & 7);
      switch (col.kind) {
        case Kind.bool:
          if (buf[pos] !== 0) col.u8[row >> 3]! |= 1 << (row & 7);
          break;
        case Kind.int2:
          col.i16[row] = view.getInt16(pos);
          break;
        case Kind.int4:
          col.i32[row] = view.getInt32(pos);
          break;
        case Kind.int8:
          // Two 32-bit halves (little-endian host, checked by the caller): no BigInt per value.
          col.i32[2 * row] = view.getInt32(pos + 4);
          col.i32[2 * row + 1] = view.getInt32(pos);
          break;
        case Kind.float4:
          col.f32[row] = view.getFloat32(pos);
          break;
        case Kind.float8:
          col.f64[row] = view.getFloat64(pos);
          break;
        case Kind.date:
          col.i32[row] = date(view.getInt32(pos), col);
          break;
        case Kind.timestamp:
          timestamp(view.getInt32(pos), view.getUint32(pos + 4), col, row);
          break;
        case Kind.decimal:
          decimal(view, pos, col, row);
          break;
        case Kind.numericText:
          appendCodes(col, numericText(view, pos));
          break;
        case Kind.jsonb:
          if (buf[pos] !== 1) throw malformed(`jsonb version ${buf[pos]}`);
          appendBytes(col, buf, pos + 1, len - 1);
          break;
        case Kind.uuid:
          uuid(col, buf, pos);
          break;
        default:
          appendBytes(col, buf, pos, len);
      }
      if (col.utf8) col.offsets[row + 1] = col.end;
      pos += len;
    }
  }
}

/** The text path refuses what Arrow cannot hold with the text it saw; binary refuses the same values. */
function date(days: number, col: BinaryColumn): number {
  if (days === INT32_MAX || days === INT32_MIN) throw unrepresentable(col.field.name, days > 0 ? 'infinity' : '-infinity', String(col.field.type));
  return days + EPOCH_DAYS;
}

/** int64 microseconds from 2000 to 1970 with 32-bit halves and a carry: no BigInt per value. */
function timestamp(hi: number, lo: number, col: BinaryColumn, row: number): void {
  if (hi === INT32_MAX && lo === 0xffffffff) throw unrepresentable(col.field.name, 'infinity', String(col.field.type));
  if (hi === INT32_MIN && lo === 0) throw unrepresentable(col.field.name, '-infinity', String(col.field.type));
  const sum = lo + EPOCH_MICROS_LO;
  const carry = sum >= TWO32 ? 1 : 0;
  const high = hi + EPOCH_MICROS_HI + carry;
  if (high > INT32_MAX) {
    throw new FerryError('QUERY_FAILED', `column "${col.field.name}" holds a timestamp after ${String(col.field.type)}'s last microsecond`, { plugin: PLUGIN });
  }
  col.i32[2 * row] = sum - carry * TWO32;
  col.i32[2 * row + 1] = high;
}

function decimal(view: DataView, pos: number, col: BinaryColumn, row: number): void {
  const special = numericSpecial(view, pos);
  if (special !== null) throw unrepresentable(col.field.name, special, String(col.field.type));
  // A constrained numeric(p, s) always has dscale s; more digits than the scale would not fit.
  if (numericScale(view, pos) > col.scale) throw unrepresentable(col.field.name, String.fromCharCode(...numericText(view, pos)), String(col.field.type));
  writeNumericDecimal128(view, pos, col.scale, col.words, row);
}

function appendBytes(col: BinaryColumn, buf: Uint8Array, pos: number, len: number): void {
  const bytes = col.reserve(len);
  const end = col.end;
  // A loop beats creating a subarray view for the short strings typical of exports.
  if (len < 32) for (let i = 0; i < len; i++) bytes[end + i] = buf[pos + i]!;
  else bytes.set(buf.subarray(pos, pos + len), end);
  col.end = end + len;
}

function appendCodes(col: BinaryColumn, codes: readonly number[]): void {
  const bytes = col.reserve(codes.length);
  bytes.set(codes, col.end);
  col.end += codes.length;
}

/** 16 bytes as uuid_out prints them: lowercase hex, 8-4-4-4-12. */
function uuid(col: BinaryColumn, buf: Uint8Array, pos: number): void {
  const bytes = col.reserve(36);
  let end = col.end;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) bytes[end++] = 0x2d;
    const b = buf[pos + i]!;
    bytes[end++] = HEX[b >> 4]!;
    bytes[end++] = HEX[b & 15]!;
  }
  col.end = end;
}
