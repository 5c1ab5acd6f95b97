import { isUtf8 } from 'node:buffer';
import { RecordBatch, Struct, Table, Type, makeBuilder, makeData, tableToIPC, type Data, type Schema, type Utf8 } from 'apache-arrow';
import { Table as WasmTable, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import { utf8Cells } from '@ferry/arrow-text';

/**
 * Move one Arrow JS batch into WebAssembly memory as arrow-rs batches, through the Arrow IPC stream
 * format (apache-arrow serialises at ~15M rows/s, arrow-rs parses at ~20M rows/s: about 10 % of the
 * Parquet encoding time, and no extra dependency such as arrow-js-ffi).
 *
 * The batch is re-labelled with the writer's schema, so every batch reaching arrow-rs has exactly
 * the schema the file was opened with (arrow-rs refuses a batch whose schema differs, and the
 * streaming writer would drop it silently, see writer.ts).
 */
export function toWasmBatches(schema: Schema, batch: RecordBatch): WasmRecordBatch[] {
  const children = batch.data.children;
  if (children.length !== schema.fields.length) {
    throw new Error(`batch has ${children.length} columns, the schema ${schema.fields.length}`);
  }
  const columns = children.map((child, i) => {
    const expected = schema.fields[i]!.type.typeId;
    if (child.typeId !== expected) throw new Error(`column ${schema.fields[i]!.name}: batch type ${child.type} differs from the schema's ${schema.fields[i]!.type}`);
    return validUtf8(child);
  });
  const data = makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children: columns });
  const ipc = tableToIPC(new Table(schema, [new RecordBatch(schema, data)]), 'stream');
  const table = WasmTable.fromIPCStream(ipc);
  try {
    return table.recordBatches();
  } finally {
    // The batches are reference-counted copies; without free() the table would stay in wasm memory.
    table.free();
  }
}

/** A zero-row batch carrying the schema: arrow-rs opens the file from the first batch it sees. */
export function emptyBatch(schema: Schema): RecordBatch {
  // Builders produce well-formed zero-length buffers (e.g. the single 0 offset of a string column).
  const children = schema.fields.map((field) => makeBuilder({ type: field.type }).flush());
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children }));
}

/**
 * Arrow promises valid UTF-8 but sources do not always deliver it (e.g. CESU-8 lone surrogates),
 * and arrow-rs rejects invalid strings when it reads the IPC stream. Such a column is rewritten with
 * U+FFFD, the same replacement the text formats make; valid columns (the norm, checked natively)
 * pass through untouched.
 */
function validUtf8(data: Data): Data {
  if (data.typeId !== Type.Utf8) return data;
  const offsets = data.valueOffsets as Int32Array;
  const values = data.values as Uint8Array;
  if (isUtf8(values.subarray(offsets[0]!, offsets[data.length]!))) return data;
  const cells = utf8Cells(data)!;
  return makeData({
    type: data.type as Utf8,
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: rebaseBitmap(data),
    valueOffsets: cells.offsets,
    data: cells.values,
  });
}

/** The validity bitmap of a (possibly sliced) column, starting at bit 0. */
function rebaseBitmap(data: Data): Uint8Array | undefined {
  if (data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0) return undefined;
  const out = new Uint8Array(Math.ceil(data.length / 8));
  for (let i = 0; i < data.length; i++) {
    const bit = data.offset + i;
    if ((data.nullBitmap[bit >> 3]! >> (bit & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}
