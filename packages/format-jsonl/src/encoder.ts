import type { Data, RecordBatch, Schema } from 'apache-arrow';
import { CellColumn, DictionaryEncoder, QUOTED_NON_FINITE, type ScalarStyle, encodeScalarColumn, fallbackTexts, isDictionary, jsonString, encodeRows, utf8Cells } from '@ferry/arrow-text';
import { writeJsonStrings } from './strings.js';

const NULL = Uint8Array.of(110, 117, 108, 108);
const ROW_END = Buffer.from('}\n');

/**
 * Encodes record batches into JSON Lines: one object per row, keys in schema order. Columns are
 * encoded one at a time into reusable cell buffers; the key text is precomputed once as the
 * "prefix" of each column (`{"id":`, `,"name":` ...), then the rows are stitched into one Buffer.
 */
export class JsonlBatchEncoder {
  readonly #columns: CellColumn[];
  readonly #prefixes: Uint8Array[];
  readonly #style: ScalarStyle = { temporalQuote: 34, nullBytes: NULL, nonFinite: QUOTED_NON_FINITE };
  readonly #dictionaries = new DictionaryEncoder((data, into) => this.#encodeColumn(data, into));
  readonly #emptyRow: boolean;

  constructor(schema: Schema) {
    this.#columns = schema.fields.map(() => new CellColumn());
    this.#prefixes = schema.fields.map((f, i) => Buffer.from(`${i === 0 ? '{' : ','}${jsonString(f.name)}:`, 'utf8'));
    this.#emptyRow = schema.fields.length === 0;
  }

  /** All rows of one batch as one Buffer. */
  encode(batch: RecordBatch): Buffer {
    const rows = batch.numRows;
    // A schema without columns still has rows: each one is `{}`.
    if (this.#emptyRow) return Buffer.from('{}\n'.repeat(rows));
    return encodeRows(batch.data.children, this.#columns, this.#encode, this.#prefixes, ROW_END, rows);
  }

  readonly #encode = (data: Data, col: CellColumn): void => this.#encodeColumn(data, col);

  #encodeColumn(data: Data, col: CellColumn): void {
    if (isDictionary(data)) {
      this.#dictionaries.encode(data, col, NULL);
      return;
    }
    const strings = utf8Cells(data);
    if (strings !== null) {
      writeJsonStrings(data, strings, col);
      return;
    }
    if (encodeScalarColumn(data, col, this.#style)) return;
    // Nested and other rare types: per-value JSON (arrays, objects, base64 for binary).
    col.reserveCells(data.length);
    for (const text of fallbackTexts(data, 'json')) col.pushString(text ?? 'null');
  }
}
