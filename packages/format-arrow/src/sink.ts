import { AsyncByteQueue } from 'apache-arrow';

/**
 * A sink for apache-arrow's RecordBatchStreamWriter that keeps the written pieces so they can be
 * taken synchronously after each `write`. The writer emits a message as many small pieces
 * (metadata, body buffers, padding); taking them per batch gives one output chunk per batch.
 * (The writer accepts any AsyncByteQueue as its sink and calls only `write` and `close`.)
 */
export class CollectingSink extends AsyncByteQueue {
  #pieces: Uint8Array[] = [];
  #bytes = 0;

  override write(value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.#pieces.push(value);
    this.#bytes += value.byteLength;
  }

  /** Everything written since the last call, as one Buffer (empty when nothing was written). */
  take(): Buffer {
    const out = Buffer.concat(this.#pieces, this.#bytes);
    this.#pieces = [];
    this.#bytes = 0;
    return out;
  }
}
