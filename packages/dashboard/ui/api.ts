import { createFerryClient, FerryApiError, type FerryClient } from '@ferry/client';
import type { Session } from './session';

/**
 * Where the API is: the dashboard is served by it at `<api>/ui/`, so the API is one level up from
 * the page (which also works behind a path prefix, e.g. `https://example.com/ferry/ui/`).
 */
export function apiBase(): string {
  return new URL('../', new URL('.', location.href.split('#')[0])).toString().replace(/\/$/, '');
}

export function clientFor(session: Pick<Session, 'apiKey'> & { adminToken?: string | null }): FerryClient {
  return createFerryClient({ baseUrl: apiBase(), apiKey: session.apiKey || undefined, adminToken: session.adminToken ?? undefined });
}

/** What an error notice shows: the API's code and field path when there are some. */
export interface ShownError {
  code: string;
  message: string;
  path?: string | undefined;
  operation?: string | undefined;
  status?: number | undefined;
}

export function describeError(err: unknown): ShownError {
  if (err instanceof FerryApiError) return { code: err.code, message: err.message, path: err.path, operation: err.operation, status: err.status };
  // fetch rejects with a TypeError when the server cannot be reached.
  if (err instanceof TypeError) return { code: 'NETWORK', message: `Ferry could not be reached (${err.message}). Is the server running?` };
  if (err instanceof Error) return { code: (err as { code?: string }).code ?? 'ERROR', message: err.message };
  return { code: 'ERROR', message: String(err) };
}
