import type { RecordBatch, Schema } from 'apache-arrow';
import { definePlugin, throwIfAborted, type FormatWriter } from '@ferry/core';
import { JsonlBatchEncoder } from './encoder.js';
import { jsonlOptionsSchema, type JsonlOptions } from './options.js';

class JsonlWriter implements FormatWriter {
  readonly name = 'jsonl';
  readonly mediaType = 'application/x-ndjson';
  readonly extension = 'jsonl';
  readonly compressible = true;
  /** JSONL has no options, so the source pushdown's bytes always match. */
  readonly pushdown = 'jsonl' as const;

  async *write(schema: Schema, batches: AsyncIterable<RecordBatch>, opts: { signal: AbortSignal }): AsyncIterable<Uint8Array> {
    throwIfAborted(opts.signal);
    const encoder = new JsonlBatchEncoder(schema);
    // Pulled lazily, one batch per consumed chunk; checked for abort after every pull. Zero rows
    // give zero bytes, which is a valid (empty) JSON Lines file.
    for await (const batch of batches) {
      throwIfAborted(opts.signal);
      if (batch.numRows === 0) continue;
      yield encoder.encode(batch);
    }
  }
}

export const jsonlFormat = definePlugin({
  kind: 'format',
  name: 'jsonl',
  description: 'JSON Lines (newline-delimited JSON objects, UTF-8); 64-bit integers and decimals keep every digit',
  options: jsonlOptionsSchema,
  capabilities: { streaming: true, compressible: true },
  create: (_options: JsonlOptions): FormatWriter => new JsonlWriter(),
});
