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

/**
 * Append the duckdb_string_t at `row` (VARCHAR and BLOB share it) to `out`: a uint32 length,
 * then up to 12 inline bytes, or a 4-byte prefix and a pointer to DuckDB's string heap. Inline
 * values are copied byte by byte (no view object per value: they are most strings); longer
 * ones need one native call to dereference the pointer.
 */
export function appendString(data: Uint8Array, view: DataView, row: number, out: { reserve(n: number): void; bytes: Uint8Array; end: number }): void {
  const offset = row * 16;
  const length = view.getUint32(offset, true);
  out.reserve(length);
  const bytes = out.bytes;
  if (length <= 12) {
    for (let k = 0, src = offset + 4, dst = out.end; k < length; k++) bytes[dst++] = data[src++]!;
  } else {
    bytes.set(duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + offset + 8, length), out.end);
  }
  out.end += length;
}

/** The node-api vector, for the few types read value by value. */
export function publicVector(column: ChunkColumn): DuckDBVector {
  return DuckDBVector.create(column.raw, column.rowCount, column.type);
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Both the Arrow buffers we build and the DuckDB memory we copy are host-endian.
  throw new Error('@ferry/source-duckdb needs a little-endian host');
}
