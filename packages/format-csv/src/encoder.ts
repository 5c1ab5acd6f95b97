import type { Data, RecordBatch, Schema } from 'apache-arrow';
import { BARE_NON_FINITE, CellColumn, DictionaryEncoder, type ScalarStyle, encodeScalarColumn, fallbackTexts, isDictionary, encodeRows, utf8Cells } from '@ferry/arrow-text';
import { csvField, requoteCells, writeTextCells, writeUtf8Cells } from './cells.js';
import type { CsvOptions } from './options.js';

const NO_BYTES = new Uint8Array(0);
const LF = Uint8Array.of(10);
const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);
/** Characters that can appear in number, boolean, date or timestamp text. */
const SCALAR_CHARS = /[0-9A-Za-z+\-.:]/;

/**
 * Encodes record batches into CSV, one column at a time into reusable cell buffers, then stitches
 * the rows into a single Buffer per batch. Line ends are LF (RFC 4180 says CRLF; every mainstream
 * reader accepts LF and it is what Unix tools and DuckDB write).
 */
export class CsvBatchEncoder {
  readonly #columns: CellColumn[];
  readonly #prefixes: Uint8Array[];
  readonly #delimiter: string;
  readonly #delim: number;
  readonly #requoteScalars: boolean;
  readonly #style: ScalarStyle = { temporalQuote: 0, nullBytes: NO_BYTES, nonFinite: BARE_NON_FINITE };
  readonly #dictionaries: DictionaryEncoder;

  constructor(
    private readonly schema: Schema,
    private readonly options: CsvOptions,
  ) {
    this.#delimiter = options.delimiter;
    this.#delim = options.delimiter.charCodeAt(0);
    this.#requoteScalars = SCALAR_CHARS.test(options.delimiter);
    this.#columns = schema.fields.map(() => new CellColumn());
    const sep = Uint8Array.of(this.#delim);
    this.#prefixes = schema.fields.map((_, i) => (i === 0 ? NO_BYTES : sep));
    this.#dictionaries = new DictionaryEncoder((data, into) => this.#encodeColumn(data, into));
  }

  /** The bytes that open the file: optional BOM, optional header line. */
  preamble(): Uint8Array {
    const parts: Uint8Array[] = [];
    if (this.options.bom) parts.push(BOM);
    if (this.options.header && this.schema.fields.length > 0) {
      const line = this.schema.fields.map((f) => csvField(f.name, this.#delimiter)).join(this.#delimiter);
      parts.push(Buffer.from(`${line}\n`, 'utf8'));
    }
    return Buffer.concat(parts);
  }

  /** All rows of one batch as one Buffer. */
  encode(batch: RecordBatch): Buffer {
    const rows = batch.numRows;
    return encodeRows(batch.data.children, this.#columns, this.#encode, this.#prefixes, LF, rows);
  }

  readonly #encode = (data: Data, col: CellColumn): void => this.#encodeColumn(data, col);

  #encodeColumn(data: Data, col: CellColumn): void {
    if (isDictionary(data)) {
      this.#dictionaries.encode(data, col, NO_BYTES);
      return;
    }
    const strings = utf8Cells(data);
    if (strings !== null) {
      writeUtf8Cells(data, strings, col, this.#delim);
      return;
    }
    const first = col.length;
    if (encodeScalarColumn(data, col, this.#style)) {
      if (this.#requoteScalars) requoteCells(col, first, this.#delim);
      return;
    }
    // Nested, binary and other rare types: per-value text (JSON for nested values, base64 for binary).
    writeTextCells(fallbackTexts(data, 'raw'), col, this.#delimiter);
  }
}
