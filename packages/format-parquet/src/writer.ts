import type { RecordBatch, Schema } from 'apache-arrow';
import { transformParquetStream, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import { throwIfAborted, type FormatWriter, type NativeFormat } from '@ferry/core';
import { parquetOptionsSchema, type ParquetOptions } from './options.js';
import { writerProperties } from './properties.js';
import { emptyBatch, toWasmBatches } from './to-wasm.js';

/**
 * Parquet through parquet-wasm's streaming writer (arrow-rs `AsyncArrowWriter` compiled to wasm).
 *
 * Data flow: our batches -> a pull-based ReadableStream of wasm batches -> arrow-rs, which encodes
 * and emits every finished row group -> a ReadableStream of bytes that this generator yields. The
 * input stream has highWaterMark 0 and the output side blocks arrow-rs until we read, so at most
 * about one row group is buffered (in wasm memory) and input is pulled only as output is consumed.
 *
 * parquet-wasm 0.8 ignores errors inside its writer loop (a failed batch is skipped, the file is
 * still closed), and a failed input stream just ends its loop. So this class never relies on the
 * output stream to report failures: a source error, an abort or an early stop by the consumer is
 * recorded here and re-thrown by the generator, so a truncated file is never reported as complete.
 */
export class ParquetWriter implements FormatWriter {
  readonly name = 'parquet';
  readonly mediaType = 'application/vnd.apache.parquet';
  readonly extension = 'parquet';
  readonly compressible = false;
  /**
   * With the default options a source may write the file itself (DuckDB's COPY: zstd, row groups
   * of DuckDB's own 122,880 rows): it reads back with the same columns, types and values. Other
   * options are this writer's to honour.
   */
  readonly pushdown?: NativeFormat;

  constructor(private readonly options: ParquetOptions) {
    const defaults = parquetOptionsSchema.parse({});
    if (options.compression === defaults.compression && options.rowGroupRows === defaults.rowGroupRows) this.pushdown = 'parquet';
  }

  async *write(schema: Schema, batches: AsyncIterable<RecordBatch>, opts: { signal: AbortSignal }): AsyncIterable<Uint8Array> {
    throwIfAborted(opts.signal);
    const source = batches[Symbol.asyncIterator]();
    const state: { failure: unknown; done: boolean } = { failure: undefined, done: false };
    let pending: WasmRecordBatch[] = [];
    let sentAny = false;

    const input = new ReadableStream<WasmRecordBatch>(
      {
        // Called by arrow-rs each time it wants the next batch.
        pull: async (controller) => {
          try {
            while (pending.length === 0) {
              if (state.done) {
                controller.close();
                return;
              }
              const next = await source.next();
              throwIfAborted(opts.signal);
              if (next.done) {
                state.done = true;
                // arrow-rs needs one batch to open the file: zero rows still give a file with the schema.
                if (!sentAny) pending = toWasmBatches(schema, emptyBatch(schema));
                continue;
              }
              if (next.value.numRows > 0 || !sentAny) pending = toWasmBatches(schema, next.value);
            }
            sentAny = true;
            controller.enqueue(pending.shift()!);
          } catch (err) {
            state.failure ??= err;
            state.done = true;
            controller.close();
          }
        },
      },
      { highWaterMark: 0 },
    );

    let output: ReadableStream<Uint8Array>;
    try {
      output = (await transformParquetStream(input, writerProperties(schema, this.options))) as ReadableStream<Uint8Array>;
    } catch (err) {
      await source.return?.();
      throw state.failure ?? err;
    }
    const reader = output.getReader();
    let finished = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (state.failure !== undefined) throw state.failure;
        throwIfAborted(opts.signal);
        if (done) break;
        yield value;
      }
      finished = true;
    } finally {
      if (!finished) {
        // Consumer stopped, source failed or abort: end the input so arrow-rs stops pulling, and
        // drop the output. The source iterator is released exactly once, below.
        state.done = true;
        state.failure ??= new Error('parquet write stopped early');
        await reader.cancel().catch(() => undefined);
      }
      reader.releaseLock();
      await source.return?.();
    }
  }
}
