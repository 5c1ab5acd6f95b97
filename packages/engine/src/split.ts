import type { RecordBatch } from 'apache-arrow';

export interface SplitLimits {
  /** Rows per file; exact (batches are sliced at the boundary). */
  maxFileRows?: number;
  /** Stored bytes per file; approximate: a file closes at the first batch boundary past the limit. */
  maxFileBytes?: number;
}

/**
 * Cuts one stream of batches into consecutive parts. Each part is an iterator that ends at a
 * limit; the rest of the stream stays for the next part, and there is never an empty trailing part.
 */
export class PartCutter {
  readonly #source: AsyncIterator<RecordBatch>;
  #pending: RecordBatch | null = null;
  #done = false;

  constructor(
    batches: AsyncIterable<RecordBatch>,
    private readonly limits: SplitLimits,
  ) {
    this.#source = batches[Symbol.asyncIterator]();
  }

  /** Whether another part would have rows. */
  async hasMore(): Promise<boolean> {
    return (await this.#peek()) !== null;
  }

  /** The next part's batches; `storedBytes` reports how many bytes of this part have been stored so far. */
  async *part(storedBytes: () => number): AsyncIterable<RecordBatch> {
    let rows = 0;
    const maxRows = this.limits.maxFileRows ?? Infinity;
    const maxBytes = this.limits.maxFileBytes ?? Infinity;
    while (rows < maxRows && storedBytes() < maxBytes) {
      const batch = await this.#peek();
      if (!batch) return;
      this.#pending = null;
      const room = maxRows - rows;
      if (batch.numRows > room) {
        this.#pending = batch.slice(room);
        yield batch.slice(0, room);
        return;
      }
      rows += batch.numRows;
      yield batch;
    }
  }

  async close(): Promise<void> {
    await this.#source.return?.();
  }

  async #peek(): Promise<RecordBatch | null> {
    while (!this.#pending && !this.#done) {
      const next = await this.#source.next();
      if (next.done) this.#done = true;
      else if (next.value.numRows > 0) this.#pending = next.value;
    }
    return this.#pending;
  }
}

/** `name.part-00001.csv.gz`: numbered parts sort in order in any file listing. */
export function partName(base: string, index: number, suffix: string): string {
  return `${base}.part-${String(index + 1).padStart(5, '0')}.${suffix}`;
}
