import type { Endpoint, EndpointChanges, EndpointSecret, EndpointsPart, NewEndpoint, SigningScheme } from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { bool, date, dateOrNull, int, json, jsonOrNull, ms, msOrNull, text, textOrNull, toJsonOrNull, type Row } from './columns.js';

/** Secrets are stored as JSON `[{value, expiresAt}]` with `expiresAt` in epoch ms (or null), newest first. */
type StoredSecret = { value: string; expiresAt: number | null };

const storeSecrets = (secrets: readonly EndpointSecret[]): string =>
  JSON.stringify(secrets.map((s): StoredSecret => ({ value: s.value, expiresAt: msOrNull(s.expiresAt) })));

export function toEndpoint(row: Row): Endpoint {
  return {
    id: text(row.id),
    accountId: int(row.account_id),
    url: text(row.url),
    scheme: row.scheme as SigningScheme,
    secrets: json<StoredSecret[]>(row.secrets).map((s) => ({ value: s.value, expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt) })),
    events: jsonOrNull<string[]>(row.events),
    description: textOrNull(row.description),
    registered: bool(row.registered),
    scheduleMs: jsonOrNull<number[]>(row.schedule),
    enabled: bool(row.enabled),
    disabledReason: textOrNull(row.disabled_reason),
    failingSince: dateOrNull(row.failing_since),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

export class SqliteEndpoints implements EndpointsPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async insert(e: NewEndpoint): Promise<void> {
    this.#x
      .sql(
        `INSERT INTO endpoints (id, account_id, url, scheme, secrets, events, description, registered, schedule, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.id,
        e.accountId,
        e.url,
        e.scheme,
        storeSecrets(e.secrets),
        toJsonOrNull(e.events),
        e.description,
        e.registered ? 1 : 0,
        toJsonOrNull(e.scheduleMs),
        ms(e.createdAt),
        ms(e.createdAt),
      );
  }

  async get(id: string): Promise<Endpoint | null> {
    const row = this.#x.sql('SELECT * FROM endpoints WHERE id = ?').get(id) as Row | undefined;
    return row ? toEndpoint(row) : null;
  }

  async findImplicit(accountId: number, url: string, scheme: SigningScheme): Promise<Endpoint | null> {
    const row = this.#x.sql('SELECT * FROM endpoints WHERE account_id = ? AND url = ? AND scheme = ? AND registered = 0').get(accountId, url, scheme) as
      | Row
      | undefined;
    return row ? toEndpoint(row) : null;
  }

  async listRegistered(accountId: number): Promise<Endpoint[]> {
    const rows = this.#x.sql('SELECT * FROM endpoints WHERE account_id = ? AND registered = 1 ORDER BY created_at, id').all(accountId) as Row[];
    return rows.map(toEndpoint);
  }

  async listSubscribers(accountId: number): Promise<Endpoint[]> {
    const rows = this.#x
      .sql('SELECT * FROM endpoints WHERE account_id = ? AND registered = 1 AND enabled = 1 ORDER BY created_at, id')
      .all(accountId) as Row[];
    return rows.map(toEndpoint);
  }

  async update(id: string, changes: EndpointChanges): Promise<Endpoint | null> {
    const sets: string[] = ['updated_at = ?'];
    const values: unknown[] = [ms(changes.updatedAt)];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      values.push(value);
    };
    if (changes.url !== undefined) set('url', changes.url);
    if (changes.events !== undefined) set('events', JSON.stringify(changes.events));
    if (changes.description !== undefined) set('description', changes.description);
    if (changes.scheduleMs !== undefined) set('schedule', toJsonOrNull(changes.scheduleMs));
    if (changes.secrets !== undefined) set('secrets', storeSecrets(changes.secrets));
    if (changes.enabled !== undefined) set('enabled', changes.enabled ? 1 : 0);
    if (changes.disabledReason !== undefined) set('disabled_reason', changes.disabledReason);
    if (changes.failingSince !== undefined) set('failing_since', msOrNull(changes.failingSince));
    const row = this.#x.sql(`UPDATE endpoints SET ${sets.join(', ')} WHERE id = ? RETURNING *`).get(...values, id) as Row | undefined;
    return row ? toEndpoint(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    return this.#x.sql('DELETE FROM endpoints WHERE id = ?').run(id).changes === 1;
  }

  async disable(id: string, reason: string, at: Date): Promise<boolean> {
    const info = this.#x.sql('UPDATE endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1').run(reason, ms(at), id);
    return info.changes === 1;
  }

  async markFailing(id: string, since: Date): Promise<void> {
    this.#x.sql('UPDATE endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL').run(ms(since), id);
  }

  async markHealthy(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    this.#x.sql('UPDATE endpoints SET failing_since = NULL WHERE id IN (SELECT value FROM json_each(?)) AND failing_since IS NOT NULL').run(JSON.stringify(ids));
  }
}
