import duckdb from '@duckdb/node-bindings';
import { DuckDBVector, type DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';

/**
 * Raw access to one column of a fetched DuckDB chunk. @duckdb/node-api's vectors only offer
 * per-item `getItem` (about 200 ns a value, most of it a BigInt validity test), which made a
 * 1M-row export spend seconds in conversion. The node-bindings underneath expose each vector's
 * memory as a Uint8Array, so fixed-width columns are copied in bulk and strings are copied as
 * UTF-8 bytes without ever becoming JS strings. Result chunks from `fetchChunk` are flat vectors,
 * which is what this layout reading assumes (node-api relies on the same).
 */
export interface ChunkColumn {
  readonly raw: duckdb.Vector;
  readonly rowCount: number;
  readonly type: DuckDBType;
}

export function chunkColumns(chunk: DuckDBDataChunk, types: readonly DuckDBType[]): ChunkColumn[] {
  const rowCount = chunk.rowCount;
  return types.map((type, i) => ({ raw: duckdb.data_chunk_get_vector(chunk.chunk, i), rowCount, type }));
}

/** The column's data buffer: `rowCount` items of `width` bytes (a view over DuckDB's memory). */
export function rawData(column: ChunkColumn, width: number): Uint8Array {
  const data = duckdb.vector_get_data(column.raw, column.rowCount * width);
  // The binding hands out a Buffer; a plain Uint8Array view keeps subarray/set on the fast path.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * DuckDB's validity mask: uint64 words, bit i (LSB first) set when row i is valid, which read
 * as bytes is exactly Arrow's layout on little-endian hosts. Null when every row is valid.
 */
export function rawValidity(column: ChunkColumn): Uint8Array | null {
  const bytes: Uint8Array | null | undefined = duckdb.vector_get_validity(column.raw, Math.ceil(column.rowCount / 64) * 8);
  return bytes ?? null;
}

export function isValid(validity: Uint8Array | null, row: number): boolean {
  return validity === null || ((validity[row >> 3]! >> (row & 7)) & 1) === 1;
}

/** Where string bytes go: a growable buffer (`reserve` may replace `bytes`), its end, and per-row end offsets. */
export interface StringSink {
  reserve(n: number): void;
  bytes: Uint8Array;
  end: number;
  readonly offsets: Int32Array;
}

/**
 * Append rows [from, to) of a VARCHAR/BLOB vector (duckdb_string_t: a uint32 length, then up to
 * 12 inline bytes, or a 4-byte prefix and a pointer into DuckDB's string heap) to `out`, writing
 * `out.offsets[row + 1]` for each, from `row` on. Returns each row's validity through `valid`.
 *
 * Inline values are copied byte by byte (no view object per value). Longer ones need a native call
 * to read through the pointer, which cost more than the copy itself when made per value; but
 * DuckDB lays out a chunk's strings one after another (measured on the sample dataset: 177,344
 * long values of one column in 340 runs), so a run of values whose bytes are adjacent both in
 * DuckDB's heap and in `out` is read with one call. Only bytes of the run's own values are read.
 */
export function appendStrings(data: Uint8Array, validity: Uint8Array | null, from: number, to: number, out: StringSink, row: number, valid: (row: number, valid: boolean) => void): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // The pending run: its first value's struct offset, where its bytes go in `out`, its length,
  // and where the next adjacent value would start in DuckDB's heap (low and high 32 bits).
  let runStruct = -1;
  let runAt = 0;
  let runBytes = 0;
  let nextLo = 0;
  let nextHi = 0;
  const flush = (): void => {
    if (runStruct < 0) return;
    out.bytes.set(duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + runStruct + 8, runBytes), runAt);
    runStruct = -1;
  };
  for (let i = from; i < to; i++, row++) {
    // A null slot's struct is garbage (its pointer too): never read it.
    const isSet = isValid(validity, i);
    valid(row, isSet);
    if (isSet) {
      const offset = i * 16;
      const length = view.getUint32(offset, true);
      if (length <= 12) {
        out.reserve(length);
        const bytes = out.bytes;
        for (let k = 0, src = offset + 4, dst = out.end; k < length; k++) bytes[dst++] = data[src++]!;
        out.end += length;
      } else {
        const lo = view.getUint32(offset + 8, true);
        const hi = view.getUint32(offset + 12, true);
        if (runStruct < 0 || lo !== nextLo || hi !== nextHi || runAt + runBytes !== out.end) {
          flush();
          runStruct = offset;
          runAt = out.end;
          runBytes = 0;
        }
        out.reserve(length);
        out.end += length;
        runBytes += length;
        const end = lo + length;
        nextLo = end >>> 0;
        nextHi = end > 0xffffffff ? hi + 1 : hi;
      }
    }
    out.offsets[row + 1] = out.end;
  }
  flush();
}

/** The node-api vector, for the few types read value by value. */
export function publicVector(column: ChunkColumn): DuckDBVector {
  return DuckDBVector.create(column.raw, column.rowCount, column.type);
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Both the Arrow buffers we build and the DuckDB memory we copy are host-endian.
  throw new Error('@ferry/source-duckdb needs a little-endian host');
}
