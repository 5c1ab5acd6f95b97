import pg from 'pg';
import type { PostgresSourceOptions } from './options.js';

/**
 * Session settings every connection starts with, so values come back in one known text form:
 * UTC for timestamptz (and date_trunc on it), ISO dates, and shortest-exact float text
 * (extra_float_digits > 0), which `Number()` reads back to the same double.
 */
function sessionOptions(options: PostgresSourceOptions): string {
  const settings = ['TimeZone=UTC', 'DateStyle=ISO,MDY', 'IntervalStyle=postgres', 'extra_float_digits=3'];
  // The schema is a validated plain identifier, so it needs no escaping in the options string.
  if (options.schema) settings.push(`search_path=${options.schema},public`);
  return settings.map((s) => `-c ${s}`).join(' ');
}

/** Everything as text: no value goes through a JS Date or a lossy float; columns convert it exactly. */
export const TEXT_TYPES: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

export function clientConfig(options: PostgresSourceOptions): pg.ClientConfig {
  return {
    ...(options.connectionString !== undefined ? { connectionString: options.connectionString } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.database !== undefined ? { database: options.database } : {}),
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    ...(options.statementTimeoutMs !== undefined ? { statement_timeout: options.statementTimeoutMs } : {}),
    options: sessionOptions(options),
    application_name: 'ferry',
    types: TEXT_TYPES,
  };
}

/** Secrets that must never appear in an error message or log line. */
export function secretsOf(options: PostgresSourceOptions): string[] {
  const secrets: string[] = [];
  if (options.password) secrets.push(options.password);
  if (options.connectionString) {
    secrets.push(options.connectionString);
    try {
      const password = new URL(options.connectionString).password;
      if (password) secrets.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL (e.g. key=value form): the whole string is already redacted.
    }
  }
  return secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}
