import type { ErrorCode } from './types.js';

/** Every error the client raises itself carries a stable `code`, like the server's errors. */
export class FerryClientError extends Error {
  override name = 'FerryClientError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An error answer of the API (`{error: {code, message, path?}}`), or an answer that is not one
 * (a proxy's HTML 502: code `UNEXPECTED_RESPONSE`).
 */
export class FerryApiError extends FerryClientError {
  override name = 'FerryApiError';
  declare readonly code: ErrorCode | 'UNEXPECTED_RESPONSE';
  /** The HTTP status. */
  readonly status: number;
  /** The offending field, e.g. `dataset.scopes[0].column`, when the server names one. */
  readonly path: string | undefined;
  /** The plugin (`kind:name`) the error concerns, when the server names one. */
  readonly plugin: string | undefined;
  /** From `Retry-After` (429, 503): how long to wait before trying again. */
  readonly retryAfterSeconds: number | undefined;
  /** The request that got this answer, e.g. `POST /dataset/export`. */
  readonly operation: string;

  constructor(init: {
    status: number;
    code: ErrorCode | 'UNEXPECTED_RESPONSE';
    message: string;
    path?: string | undefined;
    plugin?: string | undefined;
    retryAfterSeconds?: number | undefined;
    operation: string;
  }) {
    super(init.code, init.message);
    this.status = init.status;
    this.path = init.path;
    this.plugin = init.plugin;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.operation = init.operation;
  }

  /** Build one from a non-2xx answer and its body as openapi-fetch parsed it (JSON, or text). */
  static from(response: Response, body: unknown, method?: string): FerryApiError {
    const path = response.url ? new URL(response.url).pathname : '(unknown path)';
    const operation = method ? `${method.toUpperCase()} ${path}` : path;
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
    const error = (body as { error?: { code?: unknown; message?: unknown; path?: unknown; plugin?: unknown } } | null)?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      return new FerryApiError({
        status: response.status,
        code: error.code as ErrorCode,
        message: error.message,
        path: typeof error.path === 'string' ? error.path : undefined,
        plugin: typeof error.plugin === 'string' ? error.plugin : undefined,
        retryAfterSeconds,
        operation,
      });
    }
    return new FerryApiError({
      status: response.status,
      code: 'UNEXPECTED_RESPONSE',
      message: `${operation} answered ${response.status} ${response.statusText} without a Ferry error body`,
      retryAfterSeconds,
      operation,
    });
  }
}

/** `waitForExport` (or `downloadExport`) met an export that failed or expired. */
export class ExportFailedError extends FerryClientError {
  override name = 'ExportFailedError';
  declare readonly code: 'EXPORT_FAILED' | 'EXPORT_EXPIRED';
  constructor(
    readonly queryUUID: string,
    readonly state: 'failed' | 'expired',
    /** The server's reason (`error` in the status), e.g. "cancelled by request". */
    readonly reason: string,
  ) {
    super(state === 'failed' ? 'EXPORT_FAILED' : 'EXPORT_EXPIRED', `export ${queryUUID} ${state}: ${reason}`);
  }
}

export type DownloadErrorCode = 'EXPORT_NOT_COMPLETED' | 'CHECKSUM_MISMATCH' | 'SIZE_MISMATCH' | 'MANIFEST_MISMATCH' | 'UNSAFE_FILE_NAME' | 'DOWNLOAD_FAILED';

/** A download that could not be completed or did not verify; nothing unverified is left in place. */
export class DownloadError extends FerryClientError {
  override name = 'DownloadError';
  declare readonly code: DownloadErrorCode;
  constructor(
    code: DownloadErrorCode,
    message: string,
    /** The file concerned, when there is one. */
    readonly fileName?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** `Retry-After` is delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
