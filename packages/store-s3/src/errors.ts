import { FerryError, type ErrorCode } from '@ferry/core';

export const PLUGIN = 'store:s3';

/** The fields of an AWS SDK v3 service exception we read; everything else on it stays behind. */
interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function asSdkError(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

export function isNotFound(err: unknown): boolean {
  const e = asSdkError(err);
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket');
}

/** Replace every secret value that might have been echoed back (servers echo access key ids) with a marker. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out;
}

/**
 * Turn an SDK failure into a FerryError that is safe to show and log. The SDK error is deliberately
 * not attached as `cause`: its deserialized body can carry request details (S3 echoes the access key
 * id in InvalidAccessKeyId, some servers echo string-to-sign); name, status and request id suffice.
 */
export function toFerryError(err: unknown, what: string, secrets: ReadonlyArray<string | undefined>): FerryError {
  if (err instanceof FerryError) return err;
  const e = asSdkError(err);
  const status = e.$metadata?.httpStatusCode;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const detail = redact(`${name}: ${message}`, secrets);
  const suffix = [status ? `HTTP ${status}` : '', e.$metadata?.requestId ? `request id ${e.$metadata.requestId}` : ''].filter(Boolean).join(', ');
  let code: ErrorCode = 'INTERNAL';
  if (isNotFound(err)) code = 'NOT_FOUND';
  else if (name === 'AbortError') code = 'ABORTED';
  else if (status === 416 || name === 'InvalidRange') code = 'RANGE_NOT_SATISFIABLE';
  else if (status === 403 || status === 401 || name === 'CredentialsProviderError') code = 'UNAUTHORIZED';
  else if (status === undefined || status >= 500 || status === 429 || name === 'TimeoutError') code = 'TRANSIENT';
  return new FerryError(code, `${what} failed: ${detail}${suffix ? ` (${suffix})` : ''}`, { plugin: PLUGIN });
}
