import type { Data } from 'apache-arrow';
import { type CellColumn, type Utf8Cells, validityOf } from '@ferry/arrow-text';

/*
 * JSON string literals written from UTF-8 bytes. Escaped: `"`, `\`, control characters below
 * U+0020 (short forms \n \r \t \b \f, else \u00XX) and U+2028/U+2029 (valid JSON, but JavaScript
 * before ES2019 and some line-oriented tools treat them as line breaks). Everything else is copied
 * as UTF-8; the bytes were validated beforehand (see `utf8Cells`), so the output is valid UTF-8.
 */

const HEX = '0123456789abcdef';
/** 0: copy; otherwise the byte after the backslash, or 117 ('u') for \u00XX. */
const ESCAPE = new Uint8Array(128);
for (let b = 0; b < 32; b++) ESCAPE[b] = 117;
ESCAPE[8] = 98; // \b
ESCAPE[9] = 116; // \t
ESCAPE[10] = 110; // \n
ESCAPE[12] = 102; // \f
ESCAPE[13] = 114; // \r
ESCAPE[34] = 34;
ESCAPE[92] = 92;

const NULL_BYTES = [110, 117, 108, 108];

export function writeJsonStrings(data: Data, cells: Utf8Cells, col: CellColumn): void {
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
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) {
      if (p + 4 > buf.length) buf = col.grow(p, 4);
      for (let k = 0; k < 4; k++) buf[p++] = NULL_BYTES[k]!;
      ends[c++] = p;
      continue;
    }
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    // Worst case: every byte a control character (6 bytes each) plus the quotes.
    if (p + 6 * (end - start) + 2 > buf.length) buf = col.grow(p, 6 * (end - start) + 2);
    buf[p++] = 34;
    for (let k = start; k < end; k++) {
      const b = values[k]!;
      if (b < 128) {
        const e = ESCAPE[b]!;
        if (e === 0) {
          buf[p++] = b;
        } else {
          buf[p++] = 92;
          buf[p++] = e;
          if (e === 117) {
            buf[p++] = 48;
            buf[p++] = 48;
            buf[p++] = HEX.charCodeAt(b >> 4);
            buf[p++] = HEX.charCodeAt(b & 15);
          }
        }
      } else if (b === 0xe2 && k + 2 < end && values[k + 1] === 0x80 && (values[k + 2] === 0xa8 || values[k + 2] === 0xa9)) {
        // U+2028 / U+2029 -> \u2028 / \u2029
        buf[p++] = 92;
        buf[p++] = 117;
        buf[p++] = 50;
        buf[p++] = 48;
        buf[p++] = 50;
        buf[p++] = values[k + 2] === 0xa8 ? 56 : 57;
        k += 2;
      } else {
        buf[p++] = b;
      }
    }
    buf[p++] = 34;
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}
