import type { RecordBatch } from 'apache-arrow';
import type { BatchSpool } from './batch-spool.js';

export interface SplitLimits {
  /** Rows per file; exact (batches are sliced at the boundary). */
  maxFileRows?: number;
  /** Stored bytes per file (after compression); never exceeded (see `nextBudget`). */
  maxFileBytes?: number;
}

/** Rows of one batch, either in memory or as a frame of the spool. */
type Piece = { batch: RecordBatch } | { frame: number; from: number; to: number };

const rowsOf = (p: Piece): number => ('batch' in p ? p.batch.numRows : p.to - p.from);

/**
 * Cuts one stream of batches into consecutive parts of at most a given number of rows. Each part
 * is an iterator that ends at its row budget; the rest of the stream stays for the next part, and
 * there is never an empty trailing part.
 *
 * With spools, every batch is written to local disk as it is pulled from the source, so a part
 * that came out too large can be `rewind`ed: its rows are served again (from the spool, one batch in
 * memory at a time) to a retry with a smaller budget, and what that retry does not take goes to the
 * next part. A part that is kept is `commit`ted: the rows still to serve move to the other spool
 * and the current one is emptied, so the disk holds about one part's rows, not the whole export.
 */
export class PartCutter {
  readonly #source: AsyncIterator<RecordBatch>;
  #spool: BatchSpool | null;
  #spare: BatchSpool | null;
  /** Rows to serve before pulling the source again: a sliced remainder, or a rewound part. */
  #queue: Piece[] = [];
  /** What the current part was served, in order. */
  #served: Piece[] = [];
  #done = false;

  constructor(batches: AsyncIterable<RecordBatch>, spools: readonly [BatchSpool, BatchSpool] | null = null) {
    this.#source = batches[Symbol.asyncIterator]();
    this.#spool = spools?.[0] ?? null;
    this.#spare = spools?.[1] ?? null;
  }

  /** Whether another part would have rows. */
  async hasMore(): Promise<boolean> {
    return (await this.#peek()) !== null;
  }

  /** The next part's batches: at most `maxRows` rows. */
  async *part(maxRows: number): AsyncIterable<RecordBatch> {
    this.#served = [];
    let rows = 0;
    while (rows < maxRows) {
      const piece = await this.#peek();
      if (!piece) return;
      this.#queue.shift();
      const room = maxRows - rows;
      const [taken, rest] = rowsOf(piece) > room ? split(piece, room) : [piece, null];
      if (rest) this.#queue.unshift(rest);
      this.#served.push(taken);
      rows += rowsOf(taken);
      yield await this.#load(taken);
    }
  }

  /** Serve the current part's rows again, to a retry of that part. Needs the spool. */
  rewind(): void {
    if (!this.#spool) throw new Error('rewinding a part needs a spool');
    this.#queue = [...this.#served, ...this.#queue];
    this.#served = [];
  }

  /** The current part is kept: its rows are not needed again. */
  async commit(): Promise<void> {
    this.#served = [];
    if (!this.#spool || !this.#spare) return;
    // Usually just the rest of the batch the part ended in; after a rewind, the rows the smaller
    // part did not take. Copied one batch at a time.
    const queue: Piece[] = [];
    for (const piece of this.#queue) {
      const batch = await this.#load(piece);
      queue.push({ frame: await this.#spare.append(batch), from: 0, to: batch.numRows });
    }
    await this.#spool.reset();
    [this.#spool, this.#spare] = [this.#spare, this.#spool];
    this.#queue = queue;
  }

  async close(): Promise<void> {
    await this.#source.return?.();
  }

  async #peek(): Promise<Piece | null> {
    while (this.#queue.length === 0 && !this.#done) {
      const next = await this.#source.next();
      if (next.done) this.#done = true;
      else if (next.value.numRows > 0) {
        const batch = next.value;
        this.#queue.push(this.#spool ? { frame: await this.#spool.append(batch), from: 0, to: batch.numRows } : { batch });
      }
    }
    return this.#queue[0] ?? null;
  }

  async #load(piece: Piece): Promise<RecordBatch> {
    if ('batch' in piece) return piece.batch;
    const batch = await this.#spool!.read(piece.frame);
    return piece.from === 0 && piece.to === batch.numRows ? batch : batch.slice(piece.from, piece.to);
  }
}

function split(piece: Piece, rows: number): [Piece, Piece] {
  if ('batch' in piece) return [{ batch: piece.batch.slice(0, rows) }, { batch: piece.batch.slice(rows) }];
  return [
    { frame: piece.frame, from: piece.from, to: piece.from + rows },
    { frame: piece.frame, from: piece.from + rows, to: piece.to },
  ];
}

/**
 * How many rows to offer the next attempt at a part, given the last one: `rows` rows that came to
 * `bytes` stored bytes (or, for an attempt stopped early, at least that many), `fits` whether that
 * was within `maxBytes`. Aims a little under the limit, since rows are not all the same size; after
 * an attempt that was too large, always fewer rows than it had. Never more than `maxRows`.
 */
export function nextBudget(last: { rows: number; bytes: number; fits: boolean }, maxBytes: number, maxRows: number): number {
  const scaled = Math.floor((last.rows * maxBytes) / Math.max(1, last.bytes) * (last.fits ? 0.95 : 0.9));
  const budget = last.fits ? Math.max(1, scaled) : Math.max(1, Math.min(last.rows - 1, scaled));
  return Math.min(maxRows, budget);
}

/** `name.part-00001.csv.gz`: numbered parts sort in order in any file listing. */
export function partName(base: string, index: number, suffix: string): string {
  return `${base}.part-${String(index + 1).padStart(5, '0')}.${suffix}`;
}
