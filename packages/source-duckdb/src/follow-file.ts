import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

export interface FollowOptions {
  /** Bytes per read (default 1 MiB). */
  chunkBytes?: number;
  /** How long to wait for more bytes when the reader has caught up with the writer (default 5 ms). */
  pollMs?: number;
}

/**
 * The bytes of a file that a writer is still appending to, as they arrive, until `written` settles:
 * DuckDB's COPY writes its file front to back, so the export streams while it is being written
 * instead of after (both cores busy: DuckDB writing, gzip compressing). It ends once the writer is
 * done and every byte has been read; it throws the writer's error as soon as that is known. The
 * file may not exist yet when following starts.
 */
export async function* followFile(path: string, written: Promise<unknown>, options: FollowOptions = {}): AsyncGenerator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const pollMs = options.pollMs ?? 5;
  let state: { done: false } | { done: true; failure?: { error: unknown } } = { done: false };
  const settled = written.then(
    () => void (state = { done: true }),
    (error: unknown) => void (state = { done: true, failure: { error } }),
  );
  const waitForWriter = () => Promise.race([settled, delay(pollMs)]);
  const check = (): boolean => {
    if (state.done && state.failure) throw state.failure.error;
    return state.done;
  };

  let handle: FileHandle | undefined;
  try {
    while (!handle) {
      const finished = check();
      try {
        handle = await open(path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || finished) throw err;
        await waitForWriter();
      }
    }
    let position = 0;
    let buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      // Seen done before the read: a read that then finds nothing has reached the true end.
      const finished = check();
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
      if (bytesRead === chunkBytes) {
        position += bytesRead;
        yield buffer;
        buffer = Buffer.allocUnsafe(chunkBytes);
      } else if (bytesRead > 0) {
        // A short read (caught up with the writer): a copy of its size, so a consumer holding it
        // does not hold a whole chunk, and the buffer is read into again.
        position += bytesRead;
        yield Buffer.from(buffer.subarray(0, bytesRead));
      } else if (finished) {
        return;
      } else {
        await waitForWriter();
      }
    }
  } finally {
    await handle?.close();
  }
}
