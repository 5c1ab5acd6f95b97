import { FerryError, type ErrorCode } from '@ferry/core';

export const PLUGIN = 'store:gcs';

interface ApiErrorShape {
  code?: unknown;
  name?: unknown;
  message?: unknown;
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as ApiErrorShape).code;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/**
 * A FerryError that is safe to show and log. The library's error is deliberately not kept as `cause`:
 * gaxios errors carry the request config, including the `Authorization: Bearer` header.
 */
export function toFerryError(err: unknown, what: string): FerryError {
  if (err instanceof FerryError) return err;
  const status = statusOf(err);
  const e = typeof err === 'object' && err !== null ? (err as ApiErrorShape) : {};
  const message = redactTokens(typeof e.message === 'string' ? e.message : String(err));
  let code: ErrorCode = 'INTERNAL';
  if (status === 404) code = 'NOT_FOUND';
  else if (status === 416) code = 'RANGE_NOT_SATISFIABLE';
  else if (status === 401 || status === 403 || isRefusedCredential(e)) code = 'UNAUTHORIZED';
  // An expired resumable session: nothing of it can be kept, but the upload can start over.
  else if (status === 410) code = 'TRANSIENT';
  else if (e.name === 'AbortError') code = 'ABORTED';
  else if (status === undefined || status === 408 || status === 429 || status >= 500) code = 'TRANSIENT';
  return new FerryError(code, `${what} failed: ${message}${status ? ` (HTTP ${status})` : ''}`, { plugin: PLUGIN });
}

/** The OAuth token endpoint refused the key (`invalid_grant`: a wrong, deleted or disabled key). */
function isRefusedCredential(e: ApiErrorShape): boolean {
  return typeof e.message === 'string' && /^(?:invalid_grant|invalid_client|unauthorized_client)\b/.test(e.message);
}

/** OAuth access tokens and PEM keys never belong in a message, whatever a server or library echoes. */
export function redactTokens(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted key]')
    .replace(/\bya29\.[\w.-]+/g, '[redacted token]')
    .replace(/(Bearer\s+)[\w.~+/-]+=*/gi, '$1[redacted]');
}
