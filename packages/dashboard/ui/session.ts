/**
 * Who is signed in. The API key and the admin token live in sessionStorage only: gone when the tab
 * closes, never in a URL (the app routes by hash, and no credential is ever part of one), never in
 * a cookie (the API reads headers, so nothing is sent that a page elsewhere could ride on), and
 * never written to the console.
 */
export interface Session {
  apiKey: string;
  /** The operator's FERRY_ADMIN_TOKEN, for the admin view; null when not given. */
  adminToken: string | null;
}

const STORAGE_KEY = 'ferry.dashboard.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Session>;
    return typeof parsed.apiKey === 'string' && parsed.apiKey ? { apiKey: parsed.apiKey, adminToken: parsed.adminToken || null } : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  sessionStorage.removeItem(SUBMITTED_KEY);
}

const SUBMITTED_KEY = 'ferry.dashboard.submitted';

/**
 * The requests this tab submitted, by queryUUID. The API's status does not echo an export's query,
 * so the detail page shows the full request only for exports sent from here (and the filters,
 * which the export.requested event carries, for the others).
 */
export function rememberRequest(queryUUID: string, request: unknown): void {
  const all = submittedRequests();
  all[queryUUID] = request;
  const ids = Object.keys(all);
  // A bounded record: the last 50 are plenty for a session.
  for (const id of ids.slice(0, Math.max(0, ids.length - 50))) delete all[id];
  sessionStorage.setItem(SUBMITTED_KEY, JSON.stringify(all));
}

export function submittedRequest(queryUUID: string): unknown {
  return submittedRequests()[queryUUID];
}

function submittedRequests(): Record<string, unknown> {
  try {
    return (JSON.parse(sessionStorage.getItem(SUBMITTED_KEY) ?? '{}') as Record<string, unknown>) ?? {};
  } catch {
    return {};
  }
}
