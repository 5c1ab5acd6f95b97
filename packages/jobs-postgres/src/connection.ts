import pg from 'pg';
import { FerryError, type ErrorCode } from '@ferry/core';

export const PLUGIN = 'jobs:postgres';

/** Client settings shared by the pool, the LISTEN client and the migrator. */
export function clientConfig(connectionString: string, applicationName: string): pg.ClientConfig {
  return {
    connectionString,
    application_name: applicationName,
    // A dead or unreachable server fails a call instead of hanging it; transactions are short, so
    // waiting this long for a pooled connection means the pool is too small or the server is gone.
    connectionTimeoutMillis: 15_000,
    keepAlive: true,
  };
}

/** What must never appear in an error message or a log line: the URL and its password. */
export function secretsOf(connectionString: string): string[] {
  const secrets = [connectionString];
  try {
    const password = new URL(connectionString).password;
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not parseable as a URL: the whole string is already on the list.
  }
  return secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

// Errors worth retrying: the connection went away, the server is starting or shutting down, too
// many clients, a serialization failure or deadlock. SQLSTATE classes 08 and 57P, 53300, 40001, 40P01.
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

function isTransient(err: { code?: unknown; message?: unknown }): boolean {
  const code = typeof err.code === 'string' ? err.code : '';
  if (TRANSIENT_NODE_CODES.has(code)) return true;
  if (code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '40001' || code === '40P01') return true;
  const message = typeof err.message === 'string' ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

/** A failure from pg as a FerryError with a code, its message cleaned of secrets. */
export function toFerryError(err: unknown, secrets: readonly string[], doing: string): FerryError {
  if (err instanceof FerryError) return err;
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const message = redact(typeof e.message === 'string' ? e.message : String(err), secrets);
  const code: ErrorCode = e.code === '23505' ? 'CONFLICT' : isTransient(e) ? 'TRANSIENT' : 'INTERNAL';
  // The cause is kept for stack traces only when it cannot carry a secret into a log.
  const safeCause = typeof e.message === 'string' && redact(e.message, secrets) === e.message ? err : undefined;
  return new FerryError(code, `PostgreSQL job store: ${doing} failed: ${message}`, { plugin: PLUGIN, cause: safeCause });
}
