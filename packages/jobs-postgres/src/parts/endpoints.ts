import type { Endpoint, EndpointChanges, EndpointsPart, NewEndpoint, SigningScheme } from '@ferry/core';
import { secretsToJson, toEndpoint } from '../rows.js';
import type { Session } from '../session.js';

export class PostgresEndpoints implements EndpointsPart {
  constructor(private readonly s: Session) {}

  private get table(): string {
    return this.s.t.endpoints;
  }

  async insert(e: NewEndpoint): Promise<void> {
    await this.s.run(
      `INSERT INTO ${this.table} (id, account_id, url, scheme, secrets, events, description, registered, schedule_ms, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
      [
        e.id,
        e.accountId,
        e.url,
        e.scheme,
        secretsToJson(e.secrets),
        e.events === null ? null : JSON.stringify(e.events),
        e.description,
        e.registered,
        e.scheduleMs === null ? null : JSON.stringify(e.scheduleMs),
        e.createdAt,
      ],
    );
  }

  async get(id: string): Promise<Endpoint | null> {
    const row = await this.s.one(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return row && toEndpoint(row);
  }

  async findImplicit(accountId: number, url: string, scheme: SigningScheme): Promise<Endpoint | null> {
    const row = await this.s.one(`SELECT * FROM ${this.table} WHERE account_id = $1 AND url = $2 AND scheme = $3 AND NOT registered`, [
      accountId,
      url,
      scheme,
    ]);
    return row && toEndpoint(row);
  }

  async listRegistered(accountId: number): Promise<Endpoint[]> {
    const rows = await this.s.rows(`SELECT * FROM ${this.table} WHERE account_id = $1 AND registered ORDER BY created_at, seq`, [accountId]);
    return rows.map((r) => toEndpoint(r));
  }

  async listSubscribers(accountId: number): Promise<Endpoint[]> {
    const rows = await this.s.rows(`SELECT * FROM ${this.table} WHERE account_id = $1 AND registered AND enabled ORDER BY created_at, seq`, [
      accountId,
    ]);
    return rows.map((r) => toEndpoint(r));
  }

  async update(id: string, changes: EndpointChanges): Promise<Endpoint | null> {
    const values: unknown[] = [id];
    const sets: string[] = [];
    const set = (column: string, value: unknown): void => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (changes.url !== undefined) set('url', changes.url);
    if (changes.events !== undefined) set('events', JSON.stringify(changes.events));
    if (changes.description !== undefined) set('description', changes.description);
    if (changes.scheduleMs !== undefined) set('schedule_ms', changes.scheduleMs === null ? null : JSON.stringify(changes.scheduleMs));
    if (changes.secrets !== undefined) set('secrets', secretsToJson(changes.secrets));
    if (changes.enabled !== undefined) set('enabled', changes.enabled);
    if (changes.disabledReason !== undefined) set('disabled_reason', changes.disabledReason);
    if (changes.failingSince !== undefined) set('failing_since', changes.failingSince);
    set('updated_at', changes.updatedAt);
    const row = await this.s.one(`UPDATE ${this.table} SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, values);
    return row && toEndpoint(row);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.s.changed(`DELETE FROM ${this.table} WHERE id = $1`, [id])) === 1;
  }

  async disable(id: string, reason: string, at: Date): Promise<boolean> {
    const changed = await this.s.changed(`UPDATE ${this.table} SET enabled = false, disabled_reason = $2, updated_at = $3 WHERE id = $1 AND enabled`, [
      id,
      reason,
      at,
    ]);
    return changed === 1;
  }

  async markFailing(id: string, since: Date): Promise<void> {
    await this.s.run(`UPDATE ${this.table} SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL`, [id, since]);
  }

  async markHealthy(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.s.run(`UPDATE ${this.table} SET failing_since = NULL WHERE id = ANY($1::text[]) AND failing_since IS NOT NULL`, [ids]);
  }
}
