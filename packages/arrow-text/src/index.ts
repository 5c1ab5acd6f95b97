/**
 * @ferry/arrow-text: Arrow values to text, written column-wise into byte buffers. Shared by the
 * text formats (CSV, JSONL) so that dates, timestamps, decimals and 64-bit integers are spelled the
 * same way everywhere, exactly and fast.
 */
export { CellColumn, encodeRows, stitchRows } from './cells.js';
export {
  writeUnsigned,
  writeSafeInt,
  writePadded,
  writeAscii,
  writeInt64Words,
  writeUint64Words,
  writeDouble,
  float32Text,
  BARE_NON_FINITE,
  QUOTED_NON_FINITE,
  MAX_INT64_CHARS,
  MAX_DOUBLE_CHARS,
  type NonFiniteStyle,
} from './numbers.js';
export { writeDecimalWords, MAX_DECIMAL_CHARS } from './decimal.js';
export { writeDate, writeClock, writeFraction, writeOffset, splitEpoch, ZoneOffsets } from './temporal.js';
export { encodeScalarColumn, validityOf, type ScalarStyle } from './scalars.js';
export { utf8Cells, type Utf8Cells } from './strings.js';
export { DictionaryEncoder, isDictionary, type ChunkEncoder } from './dictionary.js';
export { jsonValueText, jsonString, fallbackTexts } from './json-value.js';
