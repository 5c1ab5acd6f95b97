import { availableParallelism } from 'node:os';
import { gzip as gzipCallback, type ZlibOptions } from 'node:zlib';

export interface ParallelGzipOptions {
  /** zlib level 0..9 (default DEFAULT_GZIP_LEVEL, 5). Level 1 is about three times as fast as 6 for 30-40 % larger text output. */
  level?: number;
  /** Blocks compressed at the same time (default: available cores). */
  workers?: number;
  /** Uncompressed bytes per gzip member (default 1 MiB). */
  blockBytes?: number;
  /** Checked after every chunk pulled from the source. */
  signal?: AbortSignal;
}

export const DEFAULT_BLOCK_BYTES = 1 << 20;

/**
 * zlib level 5, not zlib's own 6. Measured on five exports (the sample dataset as CSV and JSON
 * Lines, the 5M-row bench table as CSV, JSON Lines and Arrow IPC): level 6 spends 1.3-1.5x the CPU
 * of level 5 (its hash chains are four times longer) for files 0-5 % smaller, and one was larger.
 * Level 4 is faster again but costs up to 14 % more bytes. docs/benchmarks.md has the table.
 */
export const DEFAULT_GZIP_LEVEL = 5;

/**
 * gzip on all cores: the input is cut into blocks that are compressed independently and at the same
 * time, each into its own gzip member, and the members are emitted in input order. A concatenation
 * of gzip members is itself a valid gzip file (RFC 1952 §2.2): gunzip, zlib (Node's gunzip and
 * Python's gzip), DuckDB's read_csv and browsers (Content-Encoding) decompress it to the input.
 * This is what `pigz --independent` and bgzip do.
 *
 * Threads: Node's asynchronous zlib calls already run on libuv's thread pool (4 threads unless
 * UV_THREADPOOL_SIZE says otherwise), so blocks handed to `zlib.gzip` concurrently are compressed in
 * parallel with no worker_threads, no worker file (which would need a plain-JS twin to load under
 * tsx and vitest) and no copying between isolates. The pool is shared with fs and dns work: a
 * gzip job of a 1 MiB block takes ~10 ms at level 6 (less at 5), so other I/O waits at most that long.
 *
 * Memory: at most `2 * workers` blocks are in flight (being compressed or waiting to be emitted in
 * order), about 2 * workers * blockBytes * 1.3 bytes whatever the input size. Input blocks are
 * reused once compressed, and zlib's output buffers are a quarter block (text compresses 4-8x, so
 * a member still takes one thread-pool round trip; incompressible input takes a few): fresh
 * megabytes per block made V8 collect garbage for "external memory pressure" about every 50 ms,
 * 40 % of a JSON Lines export's scavenges (docs/benchmarks.md). The source is pulled
 * only when a slot is free, so backpressure reaches it. Each block costs one 18-byte member header
 * and a fresh 32 KiB deflate window: at 1 MiB blocks the output is < 0.5 % larger than one stream.
 *
 * Errors: a source error or an abort rejects the iteration; a compression error too (in order). A
 * consumer that stops early closes the source; blocks still being compressed are dropped.
 */
export async function* parallelGzip(source: AsyncIterable<Uint8Array>, options: ParallelGzipOptions = {}): AsyncGenerator<Uint8Array> {
  const level = options.level ?? DEFAULT_GZIP_LEVEL;
  const workers = options.workers ?? availableParallelism();
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level must be an integer 0..9, got ${level}`);
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  if (!Number.isInteger(blockBytes) || blockBytes < 1) throw new RangeError(`blockBytes must be a positive integer, got ${blockBytes}`);
  const maxInFlight = 2 * workers;
  const zlibOptions: ZlibOptions = { level, chunkSize: Math.max(64 * 1024, blockBytes >> 2) };

  const inFlight: Promise<Buffer>[] = [];
  /** Full blocks whose compression has finished: zlib no longer reads them. */
  const spare: Buffer[] = [];
  const nextBlock = (): Buffer => spare.pop() ?? Buffer.allocUnsafe(blockBytes);
  let block = nextBlock();
  let fill = 0;
  let blocks = 0;
  const submit = (bytes: Buffer): void => {
    const job = compressBlock(bytes, zlibOptions);
    if (bytes.length === blockBytes) job.then(() => spare.push(bytes), () => undefined);
    // Rejections are observed when the job reaches the head of the queue; until then (or if the
    // consumer stops first) this keeps Node from reporting them as unhandled.
    job.catch(() => undefined);
    inFlight.push(job);
    blocks++;
  };

  for await (const chunk of source) {
    options.signal?.throwIfAborted();
    let offset = 0;
    while (offset < chunk.byteLength) {
      // Copy: the source may reuse its buffer once we pull again, while the block is still queued.
      const n = Math.min(chunk.byteLength - offset, blockBytes - fill);
      block.set(chunk.subarray(offset, offset + n), fill);
      fill += n;
      offset += n;
      if (fill === blockBytes) {
        submit(block);
        block = nextBlock();
        fill = 0;
        while (inFlight.length >= maxInFlight) yield await inFlight.shift()!;
      }
    }
  }
  // The last partial block; an empty input still gives one (empty) member, so the file is valid gzip.
  if (fill > 0 || blocks === 0) submit(block.subarray(0, fill));
  while (inFlight.length > 0) yield await inFlight.shift()!;
}

function compressBlock(bytes: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzipCallback(bytes, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}
