import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { dirname, join } from 'node:path';
import type { DuplexOptions } from 'node:stream';
import { promisify } from 'node:util';

/**
 * DuckDB's COPY writes into a named pipe that Ferry reads: the export streams while it is being
 * written (DuckDB's writer threads and the engine's gzip busy at once), with at most
 * READ_AHEAD_BYTES of memory between them and no disk at all. A temp file would need the whole
 * uncompressed export on the data dir's disk (133 MB of CSV for the 9 MB csv.gz of the sample
 * dataset). DuckDB writes csv, json and Parquet front to back, so a pipe is all they need.
 *
 * The read end is opened first, without blocking, and read through libuv's event loop (a
 * net.Socket on the descriptor): no thread-pool thread waits on the pipe (gzip and file I/O need
 * them), and DuckDB's open of the write end never waits for a reader. Linux does not report
 * end-of-file to a reader that has seen no writer since it opened (on a new pipe or a reused one),
 * so the reader waits for DuckDB to open it.
 */
export interface Fifo {
  /** Where the writer writes. */
  readonly path: string;
  /**
   * The bytes written into the pipe until the writer is done (`written` settles) and every byte has
   * been read, then the writer's outcome: its error is thrown after the bytes it wrote.
   */
  read(written: Promise<unknown>): AsyncGenerator<Uint8Array>;
  /**
   * Done with the pipe. One read to its end after its writer succeeded goes back to its pool for
   * the next COPY; any other is cut (below). Synchronous and idempotent, as `cut`.
   */
  close(): void;
  /**
   * Cut the pipe: the path is removed, so a writer that has not opened it yet cannot (its open fails
   * instead of waiting for a reader), then the read end is closed, so a writer blocked on a full
   * pipe fails with EPIPE. Synchronous, so an abort handler or a closing source can call it while
   * the reader is suspended (a consumer that stopped pulling). Idempotent.
   */
  cut(): void;
}

/**
 * How far the reader runs ahead of its consumer. A pipe holds 64 KiB: with only the socket's
 * default 16 KiB behind it, DuckDB's writer stopped whenever the consumer paused (gzip with every
 * block in flight, a file write), and the uncompressed sample CSV took 1.46-1.78 s against
 * DuckDB's 0.74-0.86 s alone. Read ahead by 8 MiB, it took 1.14 s, and csv.gz 1.65-1.81 s
 * instead of 1.86-2.27 s (docs/benchmarks.md), for at most 8 MiB more per export.
 */
export const READ_AHEAD_BYTES = 8 << 20;

/**
 * Named pipes for one source's COPYs, made once and reused: making one runs `mkfifo`, and spawning a
 * process from a worker of 150+ MB blocked the event loop for 16-18 ms per export (a quarter of a
 * small export's whole time). A pipe read to its end after its writer succeeded holds no bytes and
 * no writer, so the next COPY can have it; any other is cut and never handed out again. Each pipe
 * lives in a directory of its own under `scratchDir` (swept after a crash).
 */
export class FifoPool {
  /** Pipes kept for reuse beyond this many are cut: more than a worker runs at once is waste. */
  static readonly MAX_IDLE = 8;
  readonly #scratchDir: string;
  readonly #idle: string[] = [];
  #closed = false;

  constructor(scratchDir: string) {
    this.#scratchDir = scratchDir;
  }

  /** A pipe with its read end open, or null where `mkfifo` is unavailable. */
  async take(): Promise<Fifo | null> {
    for (let path = this.#idle.pop(); path !== undefined; path = this.#idle.pop()) {
      const fd = openReadEnd(path);
      if (fd !== null) return this.#fifo(path, fd);
      rmSync(dirname(path), { recursive: true, force: true });
    }
    const path = await this.#make();
    if (path === null) return null;
    const fd = openReadEnd(path);
    return fd === null ? null : this.#fifo(path, fd);
  }

  /** Make a pipe before the first COPY needs one (beside the rest of a source's start). */
  async prepare(): Promise<void> {
    const path = await this.#make();
    if (path !== null && !this.#closed) this.#idle.push(path);
  }

  /** A new pipe's path, or null where none can be made (no `mkfifo`, the scratch directory gone). */
  async #make(): Promise<string | null> {
    let dir: string | undefined;
    try {
      dir = await mkdtemp(join(this.#scratchDir, 'copy-'));
      const path = join(dir, 'export');
      await promisify(execFile)('mkfifo', ['-m', '600', path]);
      return path;
    } catch {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      return null;
    }
  }

  /** No pipe is kept from now on; the scratch directory's owner removes what is there. */
  close(): void {
    this.#closed = true;
    this.#idle.length = 0;
  }

  #fifo(path: string, fd: number): Fifo {
    // net.Socket hands stream options on to its Duplex, though its type does not list them.
    const options: SocketConstructorOpts & DuplexOptions = { fd, readable: true, writable: false, readableHighWaterMark: READ_AHEAD_BYTES };
    const socket = new Socket(options);
    // A cut while nothing reads reports ECONNRESET-like errors to nobody: read() rethrows what matters.
    socket.on('error', () => undefined);
    let done = false;
    let drained = false;
    const cut = (): void => {
      if (done) return;
      done = true;
      rmSync(dirname(path), { recursive: true, force: true });
      socket.destroy();
    };
    return {
      path,
      cut,
      close: () => {
        if (!drained || this.#closed || this.#idle.length >= FifoPool.MAX_IDLE) return cut();
        if (done) return;
        done = true;
        socket.destroy();
        this.#idle.push(path);
      },
      async *read(written) {
        const outcome = written.then(
          () => ({ failed: false as const }),
          (error: unknown) => ({ failed: true as const, error }),
        );
        // Once the writer is done its end is closed; a writer that never opened the pipe (a COPY that
        // failed first) would leave the reader waiting: opening and closing a write end once makes
        // the read end see end-of-file after the bytes already in the pipe.
        void outcome.then(() => {
          try {
            closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
          } catch {
            // Cut already (ENOENT, ENXIO): the reader is gone too.
          }
        });
        for await (const chunk of socket) yield chunk as Buffer;
        const result = await outcome;
        if (result.failed) throw result.error;
        // End-of-file came after every writer closed, the last being the open above (its callback
        // ran before this await resumed): the pipe is empty and nobody holds its write end.
        drained = true;
      },
    };
  }
}

/** The read end, opened without blocking (see above), or null when the pipe is gone. */
function openReadEnd(path: string): number | null {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
}
