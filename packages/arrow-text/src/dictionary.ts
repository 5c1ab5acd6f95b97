import { Type, type Data, type Int, type Vector } from 'apache-arrow';
import { CellColumn } from './cells.js';
import { validityOf } from './scalars.js';

/** Encodes the (non-null-aware) values of one Data chunk into a column; supplied by the format. */
export type ChunkEncoder = (data: Data, into: CellColumn) => void;

/**
 * Dictionary-encoded columns (DuckDB ENUMs, low-cardinality strings): encode the dictionary once,
 * cache it per dictionary object (it usually stays the same across batches), then copy the encoded
 * cell for each index. This is much cheaper than encoding every row's value again.
 */
export class DictionaryEncoder {
  readonly #cache = new WeakMap<Vector, CellColumn>();

  constructor(private readonly encodeChunk: ChunkEncoder) {}

  encode(data: Data, col: CellColumn, nullBytes: Uint8Array): void {
    const dictionary = data.dictionary;
    if (!dictionary) throw new Error('dictionary column without a dictionary');
    let dict = this.#cache.get(dictionary);
    if (!dict) {
      dict = new CellColumn(1 << 12, Math.max(1, dictionary.length));
      for (const chunk of dictionary.data) this.encodeChunk(chunk, dict);
      this.#cache.set(dictionary, dict);
    }
    expand(data as Data<Int>, dict, col, nullBytes);
  }
}

function expand(indices: Data<Int>, dict: CellColumn, col: CellColumn, nul: Uint8Array): void {
  const n = indices.length;
  const valid = validityOf(indices);
  const off = indices.offset;
  const wide = indices.type.bitWidth === 64;
  const narrow = wide ? null : (indices.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array);
  const w = wide ? new Int32Array(indices.values.buffer, indices.values.byteOffset, n * 2) : null;
  const src = dict.bytes;
  const dictEnds = dict.ends;
  col.reserveCells(n);
  let buf = col.bytes;
  const ends = col.ends;
  let p = col.pos;
  let c = col.length;
  for (let i = 0; i < n; i++) {
    const bit = off + i;
    if (valid !== null && ((valid[bit >> 3]! >> (bit & 7)) & 1) === 0) {
      if (p + nul.length > buf.length) buf = col.grow(p, nul.length);
      for (let k = 0; k < nul.length; k++) buf[p++] = nul[k]!;
    } else {
      // 64-bit indices beyond 2^32 would not fit a dictionary anyway: the low word is the index.
      const idx = narrow !== null ? narrow[i]! : w![2 * i]! >>> 0;
      const start = idx === 0 ? 0 : dictEnds[idx - 1]!;
      const end = dictEnds[idx]!;
      if (p + end - start > buf.length) buf = col.grow(p, end - start);
      for (let k = start; k < end; k++) buf[p++] = src[k]!;
    }
    ends[c++] = p;
  }
  col.pos = p;
  col.length = c;
}

export function isDictionary(data: Data): boolean {
  return data.typeId === Type.Dictionary;
}
