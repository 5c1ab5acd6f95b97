import type { Data } from 'apache-arrow';

/**
 * A column of encoded cells: all cell bytes back to back in one growable buffer, plus the end offset
 * of every cell. Encoders fill one column at a time in a tight loop; `stitchRows` then interleaves
 * the columns into rows. This keeps the hot loops monomorphic (one type per loop) and avoids any
 * per-row or per-cell JS object.
 *
 * The buffers are reused from batch to batch (`reset`), so steady-state encoding allocates only the
 * output buffer.
 */
export class CellColumn {
  bytes: Uint8Array;
  ends: Int32Array;
  /** Cells written so far. */
  length = 0;
  /** Bytes written so far. */
  pos = 0;

  constructor(initialBytes = 1 << 16, initialCells = 1024) {
    this.bytes = new Uint8Array(initialBytes);
    this.ends = new Int32Array(initialCells);
  }

  /** Forget the content, keep the memory; make room for `cells` cell ends. */
  reset(cells: number): void {
    this.length = 0;
    this.pos = 0;
    this.reserveCells(cells);
  }

  /** Make sure `cells` more cells fit in `ends`. */
  reserveCells(cells: number): void {
    const need = this.length + cells;
    if (need > this.ends.length) {
      const next = new Int32Array(Math.max(need, this.ends.length * 2));
      next.set(this.ends.subarray(0, this.length));
      this.ends = next;
    }
  }

  /**
   * Make sure `extra` more bytes fit after `pos` (the caller's write position) and return the
   * (possibly new) byte buffer. Encoders keep `bytes` and `pos` in locals and call this only
   * when a cell's worst case would not fit.
   */
  grow(pos: number, extra: number): Uint8Array {
    const need = pos + extra;
    if (need > this.bytes.length) {
      if (need > 0x7fffffff) throw new RangeError('a batch column exceeds 2 GiB of text; use smaller batches');
      const next = new Uint8Array(Math.min(0x7fffffff, Math.max(need, this.bytes.length * 2)));
      next.set(this.bytes.subarray(0, pos));
      this.bytes = next;
    }
    return this.bytes;
  }

  /** Append one cell from a JS string (slow path: fallbacks, dictionary-free rare types). */
  pushString(text: string): void {
    const max = text.length * 3;
    let buf = this.bytes;
    if (this.pos + max > buf.length) buf = this.grow(this.pos, max);
    this.pos += encoder.encodeInto(text, buf.subarray(this.pos)).written;
    this.ends[this.length++] = this.pos;
  }

  /** Append one cell holding `bytes` verbatim. */
  pushBytes(bytes: Uint8Array): void {
    let buf = this.bytes;
    if (this.pos + bytes.length > buf.length) buf = this.grow(this.pos, bytes.length);
    buf.set(bytes, this.pos);
    this.pos += bytes.length;
    this.ends[this.length++] = this.pos;
  }

  /** The bytes of cell `i` (a view, valid until the next write; for tests and slow paths). */
  cell(i: number): Uint8Array {
    const start = i === 0 ? 0 : (this.ends[i - 1] ?? 0);
    return this.bytes.subarray(start, this.ends[i] ?? 0);
  }
}

const encoder = new TextEncoder();

/** Cells shorter than this are copied byte by byte; longer ones with a native copy. */
const NATIVE_COPY_MIN = 24;
/** Rows per stitching tile: a tile of output (~100 KB for typical rows) stays in the CPU cache. */
const TILE_ROWS = 512;

/**
 * Interleave columns into rows: for every row, for every column, `prefixes[c]` then the cell; then
 * `suffix`. CSV uses prefixes `['', ',', ',' ...]` and suffix `\n`; JSONL uses `{"a":`, `,"b":` ...
 * and `}\n`. Returns exactly one Buffer holding all rows.
 *
 * Column-major within tiles of rows: first every row's length is summed (so each row's start is
 * known), then, tile by tile, each column scatters its cells to its rows. Each pass touches one column's buffers with a constant prefix,
 * which V8 compiles to much tighter code than a row loop that switches column on every cell.
 */
export function stitchRows(columns: readonly CellColumn[], prefixes: readonly Uint8Array[], suffix: Uint8Array, rows: number): Buffer {
  const ncols = columns.length;
  if (prefixes.length !== ncols) throw new Error('stitchRows: one prefix per column');
  let fixed = suffix.length;
  for (let c = 0; c < ncols; c++) {
    const col = columns[c]!;
    if (col.length !== rows) throw new Error(`stitchRows: column ${c} has ${col.length} cells, expected ${rows}`);
    fixed += prefixes[c]!.length;
  }
  // cursor[r] = where row r's next byte goes: first the row lengths, then their prefix sum.
  const cursor = new Int32Array(rows);
  for (let c = 0; c < ncols; c++) {
    const ends = columns[c]!.ends;
    let prev = 0;
    for (let r = 0; r < rows; r++) {
      const end = ends[r]!;
      cursor[r]! += end - prev;
      prev = end;
    }
  }
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const len = cursor[r]! + fixed;
    cursor[r] = total;
    total += len;
  }
  const ab = new ArrayBuffer(total);
  const out = new Uint8Array(ab);
  const starts = new Int32Array(ncols); // byte offset of the next cell of each column
  const sufLen = suffix.length;
  // Rows are processed in tiles so the output being scattered into stays in cache.
  for (let r0 = 0; r0 < rows; r0 += TILE_ROWS) {
    const r1 = Math.min(rows, r0 + TILE_ROWS);
    for (let c = 0; c < ncols; c++) {
      const { bytes: src, ends } = columns[c]!;
      const pre = prefixes[c]!;
      const preLen = pre.length;
      const pre0 = preLen > 0 ? pre[0]! : 0;
      let start = starts[c]!;
      for (let r = r0; r < r1; r++) {
        let p = cursor[r]!;
        if (preLen === 1) out[p++] = pre0;
        else for (let k = 0; k < preLen; k++) out[p++] = pre[k]!;
        const end = ends[r]!;
        if (end - start < NATIVE_COPY_MIN) {
          for (let k = start; k < end; k++) out[p++] = src[k]!;
        } else {
          out.set(src.subarray(start, end), p);
          p += end - start;
        }
        cursor[r] = p;
        start = end;
      }
      starts[c] = start;
    }
    for (let r = r0; r < r1; r++) {
      let p = cursor[r]!;
      for (let k = 0; k < sufLen; k++) out[p++] = suffix[k]!;
    }
  }
  return Buffer.from(ab);
}

/**
 * One batch as text rows: each column's cells are encoded by `encodeColumn` (column-wise, into its
 * CellColumn), then stitched into rows with the given per-column prefixes and row suffix.
 */
export function encodeRows(
  children: readonly Data[],
  columns: readonly CellColumn[],
  encodeColumn: (data: Data, col: CellColumn) => void,
  prefixes: readonly Uint8Array[],
  suffix: Uint8Array,
  rows: number,
): Buffer {
  if (children.length !== columns.length) throw new Error(`batch has ${children.length} columns, the schema ${columns.length}`);
  for (let c = 0; c < children.length; c++) {
    const col = columns[c]!;
    col.reset(rows);
    encodeColumn(children[c]!, col);
  }
  return stitchRows(columns, prefixes, suffix, rows);
}
