/**
 * Every failure Ferry reports carries a stable machine code, the HTTP status it maps to,
 * and (where it concerns input) the path of the offending field, so clients can point at it.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: 400,
  UNKNOWN_DATASET: 400,
  UNKNOWN_COLUMN: 400,
  COLUMN_NOT_EXPORTABLE: 400,
  AGGREGATE_NOT_ALLOWED: 400,
  GRANULARITY_NOT_ALLOWED: 400,
  TYPE_MISMATCH: 400,
  LIMIT_EXCEEDED: 400,
  INVALID_WEBHOOK_URL: 400,
  INVALID_KEY: 400,
  INVALID_CONFIG: 400,
  INVALID_OPTIONS: 400,
  UNAUTHORIZED: 403,
  TOKEN_INVALID: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PLUGIN_NOT_FOUND: 400,
  DUPLICATE_PLUGIN: 500,
  TOKEN_EXPIRED: 410,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  UNSUPPORTED: 422,
  RATE_LIMITED: 429,
  TOO_MANY_QUEUED: 429,
  ABORTED: 499,
  TRANSIENT: 503,
  /** A disk or database is full (ENOSPC, SQLITE_FULL, DuckDB out of temp space): retry once space is freed. */
  STORAGE_FULL: 503,
  QUERY_FAILED: 500,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;
export type FieldPath = ReadonlyArray<string | number>;

export interface FerryErrorOptions {
  path?: FieldPath;
  /** The plugin (`kind:name`) or component the error concerns. */
  plugin?: string;
  cause?: unknown;
  /** Whether retrying the same operation may succeed. */
  retryable?: boolean;
  /** For 429 and 503 answers: when to try again (the `Retry-After` header). */
  retryAfterSeconds?: number;
}

export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly path?: FieldPath;
  readonly plugin?: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.status = ErrorCodes[code];
    this.path = options.path;
    this.plugin = options.plugin;
    this.retryable = options.retryable ?? (code === 'TRANSIENT' || code === 'STORAGE_FULL');
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The JSON body an API answers with. Never contains secrets: messages are written to be public. */
  toJSON(): { error: { code: ErrorCode; message: string; path?: string; plugin?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.path ? { path: formatPath(this.path) } : {}),
        ...(this.plugin ? { plugin: this.plugin } : {}),
      },
    };
  }
}

export function isFerryError(err: unknown): err is FerryError {
  return err instanceof FerryError;
}

/** `['dataset','filters',1,'column']` -> `dataset.filters[1].column` */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}
