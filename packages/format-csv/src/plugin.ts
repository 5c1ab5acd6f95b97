import type { RecordBatch, Schema } from 'apache-arrow';
import { definePlugin, throwIfAborted, type FormatWriter, type NativeFormat } from '@ferry/core';
import { CsvBatchEncoder } from './encoder.js';
import { csvOptionsSchema, type CsvOptions } from './options.js';

class CsvWriter implements FormatWriter {
  readonly name = 'csv';
  readonly mediaType = 'text/csv; charset=utf-8';
  readonly extension = 'csv';
  readonly compressible = true;
  /** Source pushdown reproduces the default options' bytes only. */
  readonly pushdown?: NativeFormat;

  constructor(private readonly options: CsvOptions) {
    const defaults = csvOptionsSchema.parse({});
    if (options.delimiter === defaults.delimiter && options.header === defaults.header && options.bom === defaults.bom) this.pushdown = 'csv';
  }

  async *write(schema: Schema, batches: AsyncIterable<RecordBatch>, opts: { signal: AbortSignal }): AsyncIterable<Uint8Array> {
    throwIfAborted(opts.signal);
    const encoder = new CsvBatchEncoder(schema, this.options);
    const preamble = encoder.preamble();
    if (preamble.length > 0) yield preamble;
    // One batch is pulled only after the previous chunk was consumed (generator semantics), and the
    // signal is checked after every pull, so an abort stops the export within one batch. Leaving the
    // loop (abort, error, consumer `return`) closes the source iterator.
    for await (const batch of batches) {
      throwIfAborted(opts.signal);
      if (batch.numRows === 0) continue;
      yield encoder.encode(batch);
    }
  }
}

export const csvFormat = definePlugin({
  kind: 'format',
  name: 'csv',
  description: 'RFC 4180 CSV (LF line ends, UTF-8); NULL is an empty field, the empty string is ""',
  options: csvOptionsSchema,
  capabilities: { streaming: true, compressible: true },
  create: (options: CsvOptions): FormatWriter => new CsvWriter(options),
});
