import { openAsBlob } from 'node:fs';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { ParquetFile, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import { throwIfAborted, type RowStream } from '@ferry/core';

/**
 * Stream a Parquet file as Arrow batches. parquet-wasm (arrow-rs) reads the file through a Blob
 * backed by the file on disk, one row group at a time, so memory follows the row group, not the
 * file. Each batch crosses from wasm to apache-arrow as an IPC message (a copy of one batch).
 */
export async function readParquetFile(file: string, opts: { signal: AbortSignal; batchRows?: number }): Promise<RowStream> {
  throwIfAborted(opts.signal);
  const parquetFile = await ParquetFile.fromFile(await openAsBlob(file));
  // The schema comes from the footer, so a zero-row file still has one.
  const schema = ipcSchema(parquetFile.schema().intoIPCStream());
  const stream = (await parquetFile.stream({ batchSize: opts.batchRows ?? 65_536 })) as ReadableStream<WasmRecordBatch>;
  return { schema, batches: batches(stream, parquetFile, opts.signal) };
}

function ipcSchema(bytes: Uint8Array): Schema {
  const reader = RecordBatchReader.from(bytes);
  reader.open();
  return reader.schema;
}

async function* batches(stream: ReadableStream<WasmRecordBatch>, file: ParquetFile, signal: AbortSignal): AsyncGenerator<RecordBatch> {
  const reader = stream.getReader();
  try {
    for (;;) {
      throwIfAborted(signal);
      const { value, done } = await reader.read();
      if (done) break;
      // intoIPCStream consumes (frees) the wasm batch.
      for (const batch of RecordBatchReader.from(value.intoIPCStream())) yield batch;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
    file.free();
  }
}
