import type { EventQuery, EventsPart, NewEvent } from '@ferry/core';
import { toEvent } from '../rows.js';
import type { Session } from '../session.js';

/** `export.*` -> a LIKE pattern for `export.%`, with LIKE's own wildcards in the prefix escaped. */
function familyPattern(type: string): string {
  return `${type.slice(0, -1).replace(/[%_\\]/g, '\\$&')}%`;
}

export class PostgresEvents implements EventsPart {
  constructor(private readonly s: Session) {}

  private get table(): string {
    return this.s.t.events;
  }

  async insert(events: readonly NewEvent[]): Promise<NewEvent[]> {
    if (events.length === 0) return [];
    // One statement, rows in the given order (WITH ORDINALITY), so `seq` follows the caller's order.
    const rows = await this.s.rows(
      `INSERT INTO ${this.table} (id, account_id, type, created_at, export_id, body)
       SELECT id, account_id, type, created_at, export_id, body
       FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
            WITH ORDINALITY AS e(id, account_id, type, created_at, export_id, body, ord)
       ORDER BY ord
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        events.map((e) => e.id),
        events.map((e) => e.accountId),
        events.map((e) => e.type),
        events.map((e) => e.created),
        events.map((e) => e.exportId),
        events.map((e) => e.body),
      ],
    );
    const stored = new Set(rows.map((r) => String(r.id)));
    // An id repeated within the batch is stored once: report its first occurrence only.
    return events.filter((e) => stored.delete(e.id));
  }

  async get(id: string): Promise<NewEvent | null> {
    const row = await this.s.one(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return row && toEvent(row);
  }

  async list(accountId: number, query: EventQuery): Promise<NewEvent[]> {
    const where = ['account_id = $1'];
    const values: unknown[] = [accountId];
    if (query.type !== undefined) {
      if (query.type.endsWith('.*')) {
        values.push(familyPattern(query.type));
        where.push(`type LIKE $${values.length} ESCAPE '\\'`);
      } else {
        values.push(query.type);
        where.push(`type = $${values.length}`);
      }
    }
    if (query.since !== undefined) {
      values.push(query.since);
      where.push(`created_at >= $${values.length}`);
    }
    if (query.startingAfter !== undefined) {
      values.push(query.startingAfter);
      where.push(`seq > (SELECT seq FROM ${this.table} WHERE id = $${values.length})`);
    }
    values.push(query.limit);
    const rows = await this.s.rows(`SELECT * FROM ${this.table} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${values.length}`, values);
    return rows.map(toEvent);
  }

  async purge(before: Date): Promise<number> {
    return this.s.changed(`DELETE FROM ${this.table} WHERE created_at < $1`, [before]);
  }
}
