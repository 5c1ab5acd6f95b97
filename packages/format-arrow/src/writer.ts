import { RecordBatch, RecordBatchStreamWriter, Struct, makeData, type Schema } from 'apache-arrow';
import { throwIfAborted, type FormatWriter } from '@ferry/core';
import { CollectingSink } from './sink.js';

/**
 * Arrow IPC streaming format ("Arrow stream", `.arrows`): a schema message, then one record batch
 * message (plus any dictionary batches) per input batch, then the end-of-stream marker. The
 * columns are copied as they are; no text conversion, so this is the cheapest format to write and
 * keeps every type exactly (what the source produced is what the reader gets).
 *
 * One output chunk per input batch; input is pulled only as output is consumed.
 */
export class ArrowStreamWriter implements FormatWriter {
  readonly name = 'arrow';
  readonly mediaType = 'application/vnd.apache.arrow.stream';
  readonly extension = 'arrows';
  /** Arrow IPC is uncompressed columnar data: gzip shrinks it several times. */
  readonly compressible = true;

  async *write(schema: Schema, batches: AsyncIterable<RecordBatch>, opts: { signal: AbortSignal }): AsyncIterable<Uint8Array> {
    throwIfAborted(opts.signal);
    const sink = new CollectingSink();
    const writer = new RecordBatchStreamWriter({ autoDestroy: false });
    // Writes the schema message at once, so zero batches still give a valid stream.
    writer.reset(sink, schema);
    yield sink.take();
    for await (const batch of batches) {
      throwIfAborted(opts.signal);
      if (batch.numRows === 0) continue;
      writer.write(withSchema(schema, batch));
      yield sink.take();
    }
    writer.finish();
    const end = sink.take();
    if (end.length > 0) yield end;
  }
}

/**
 * The batch labelled with the stream's schema. apache-arrow's writer starts a *new stream* when a
 * batch's schema differs from the current one (e.g. only in nullability or metadata), which would
 * make an invalid file; the columns themselves must of course match.
 */
function withSchema(schema: Schema, batch: RecordBatch): RecordBatch {
  if (batch.schema === schema) return batch;
  const children = batch.data.children;
  if (children.length !== schema.fields.length) throw new Error(`batch has ${children.length} columns, the schema ${schema.fields.length}`);
  children.forEach((child, i) => {
    const field = schema.fields[i]!;
    if (child.typeId !== field.type.typeId) throw new Error(`column ${field.name}: batch type ${child.type} differs from the schema's ${field.type}`);
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }));
}
