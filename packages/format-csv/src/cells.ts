import type { Data } from 'apache-arrow';
import { CellColumn, type Utf8Cells, validityOf } from '@ferry/arrow-text';

/*
 * RFC 4180 quoting, byte-wise. A field is quoted when it contains the delimiter, a double quote,
 * CR or LF; embedded quotes are doubled. NULL is an empty unquoted field and the empty string is
 * `""`, so a reader can tell them apart.
 */

const QUOTE = 34;
const CR = 13;
const LF = 10;

/** Append the cells of a UTF-8 column, copying bytes and quoting only the fields that need it. */
export function writeUtf8Cells(data: Data, cells: Utf8Cells, col: CellColumn, delim: number): void {
  const n = data.length;
  const valid = validityOf(data);
  const off = data.offset;
  const { values, offsets } = cells;
  col.reserveCells(n);
  let buf = col.bytes;
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  for (let i = 0; i < n; i++) {
    const bit = off + i;
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) {
      ends[c++] = p;
      continue;
    }
    // Worst case: every byte a quote (doubled) plus the two enclosing quotes.
    if (p + 2 * (end - start) + 2 > buf.length) buf = col.grow(p, 2 * (end - start) + 2);
    if (start === end) {
      buf[p++] = QUOTE;
      buf[p++] = QUOTE;
      ends[c++] = p;
      continue;
    }
    // Optimistic copy; most fields need no quoting.
    const mark = p;
    let special = false;
    for (let k = start; k < end; k++) {
      const b = values[k]!;
      if (b === QUOTE || b === delim || b === LF || b === CR) {
        special = true;
        break;
      }
      buf[p++] = b;
    }
    if (special) {
      p = mark;
      buf[p++] = QUOTE;
      for (let k = start; k < end; k++) {
        const b = values[k]!;
        if (b === QUOTE) buf[p++] = QUOTE;
        buf[p++] = b;
      }
      buf[p++] = QUOTE;
    }
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}

/** The CSV field for a JS string (header names, fallback values). */
export function csvField(text: string, delimiter: string): string {
  if (text === '') return '""';
  if (text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r')) {
    return `"${text.replaceAll('"', '""')}"`;
  }
  return text;
}

/** Append text cells (null = NULL) of a column without a byte-level encoder. */
export function writeTextCells(texts: readonly (string | null)[], col: CellColumn, delimiter: string): void {
  col.reserveCells(texts.length);
  for (const text of texts) col.pushString(text === null ? '' : csvField(text, delimiter));
}

/**
 * Quote, after the fact, the cells from `fromCell` on that contain the delimiter. Needed only when
 * the delimiter is a character that can occur in number, date or boolean text (say `.` or `-`).
 */
export function requoteCells(col: CellColumn, fromCell: number, delim: number): void {
  const from = fromCell === 0 ? 0 : col.ends[fromCell - 1]!;
  const old = col.bytes.slice(from, col.pos);
  const oldEnds = col.ends.slice(fromCell, col.length);
  col.pos = from;
  col.length = fromCell;
  let start = 0;
  for (let i = 0; i < oldEnds.length; i++) {
    const end = oldEnds[i]! - from;
    const cell = old.subarray(start, end);
    col.pushBytes(cell.includes(delim) || cell.includes(QUOTE) ? quoteBytes(cell) : cell);
    start = end;
  }
}

function quoteBytes(cell: Uint8Array): Uint8Array {
  const out: number[] = [QUOTE];
  for (const b of cell) {
    if (b === QUOTE) out.push(QUOTE);
    out.push(b);
  }
  out.push(QUOTE);
  return Uint8Array.from(out);
}
