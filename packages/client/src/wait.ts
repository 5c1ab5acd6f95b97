import { ExportFailedError, FerryApiError } from './errors.js';
import type { ExportProgress, ExportStatus } from './types.js';

export interface WaitOptions {
  /** Called with the first status seen and again whenever its state, rows or bytes change. */
  onProgress?: (progress: ExportProgress) => void;
  /** Stops the wait: the promise rejects with the signal's reason, at once, even mid-poll. */
  signal?: AbortSignal;
  /** Between polls; default 1000 ms. */
  intervalMs?: number;
}

/** Answers worth waiting out while polling (the server asks to come back later, or a proxy hiccups). */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
/** Consecutive transient failures tolerated before the wait gives up with the last one. */
const MAX_TRANSIENT_FAILURES = 5;

type GetExport = (queryUUID: string, options: { signal?: AbortSignal }) => Promise<ExportStatus>;

export async function waitForExport(getExport: GetExport, queryUUID: string, options: WaitOptions = {}): Promise<ExportStatus> {
  const { onProgress, signal, intervalMs = 1000 } = options;
  let last: ExportProgress | undefined;
  let failures = 0;
  for (;;) {
    signal?.throwIfAborted();
    let status: ExportStatus;
    try {
      status = await getExport(queryUUID, { signal });
      failures = 0;
    } catch (err) {
      if (signal?.aborted || !isTransient(err) || ++failures > MAX_TRANSIENT_FAILURES) throw err;
      await sleep(err instanceof FerryApiError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : intervalMs, signal);
      continue;
    }
    const progress: ExportProgress = { state: status.state, rows: status.progress.rows, bytes: status.progress.bytes };
    if (!last || last.state !== progress.state || last.rows !== progress.rows || last.bytes !== progress.bytes) {
      last = progress;
      onProgress?.(progress);
    }
    if (status.state === 'completed') return status;
    if (status.state === 'failed' || status.state === 'expired') {
      throw new ExportFailedError(queryUUID, status.state, status.error ?? (status.state === 'expired' ? 'its files were deleted after the retention period' : 'no reason given'));
    }
    await sleep(intervalMs, signal);
  }
}

function isTransient(err: unknown): boolean {
  if (err instanceof FerryApiError) return TRANSIENT_STATUSES.has(err.status);
  // fetch rejects with a TypeError when the connection fails (refused, reset, DNS).
  return err instanceof TypeError;
}

/** A timer the signal cancels, rejecting with the signal's own reason (as fetch does). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
