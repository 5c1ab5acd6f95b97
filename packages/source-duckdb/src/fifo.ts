import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

/**
 * DuckDB's COPY writes into a named pipe that Ferry reads: the export streams while it is being
 * written (DuckDB's writer threads and the engine's gzip busy at once), with a pipe's worth of
 * memory between them and no disk at all. A temp file would need the whole uncompressed export on
 * the data dir's disk (133 MB of CSV for the 9 MB csv.gz of the sample dataset). DuckDB writes
 * csv, json and Parquet front to back, so a pipe is all they need.
 */

/** A FIFO in a directory of its own under `scratchDir` (swept after a crash), or null where `mkfifo` is unavailable. */
export async function makeFifo(scratchDir: string): Promise<{ path: string; cleanup: () => Promise<void> } | null> {
  const dir = await mkdtemp(join(scratchDir, 'copy-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const path = join(dir, 'export');
  try {
    await promisify(execFile)('mkfifo', ['-m', '600', path]);
    return { path, cleanup };
  } catch {
    await cleanup();
    return null;
  }
}

/**
 * The bytes written into the FIFO at `path` until the writer closes it, then the writer's outcome:
 * `written` settles when the writer is done, and its error is thrown after the bytes it wrote.
 * Leaving early closes the read end, so a writer blocked on a full pipe fails (EPIPE) instead of
 * waiting forever.
 */
export async function* readFifo(path: string, written: Promise<unknown>, chunkBytes = 1 << 20): AsyncGenerator<Uint8Array> {
  let opened = false;
  // Opening the read end waits for a writer. A writer that fails before it opens the pipe (a bad
  // query, an interrupt) would leave that wait without end: the failure opens the write end itself,
  // once, to let the read end open and see end-of-file.
  const failed = written.then(
    () => undefined,
    async () => {
      for (let tries = 0; tries < 400 && !opened; tries++) {
        try {
          await (await open(path, constants.O_WRONLY | constants.O_NONBLOCK)).close();
          return;
        } catch {
          await delay(5); // ENXIO: the read end is not open yet
        }
      }
    },
  );
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    opened = true;
    let buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      if (bytesRead === chunkBytes) {
        yield buffer;
        buffer = Buffer.allocUnsafe(chunkBytes);
      } else {
        // A pipe hands over at most what it holds per read: a short read is copied, so a chunk the
        // consumer keeps is its own size, and the buffer is read into again.
        yield Buffer.from(buffer.subarray(0, bytesRead));
      }
    }
    await written;
  } finally {
    await handle?.close();
    void failed;
  }
}
