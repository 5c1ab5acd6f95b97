import type { EventQuery, EventsPart, NewEvent } from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { date, int, ms, text, textOrNull, type Row } from './columns.js';

function toEvent(row: Row): NewEvent {
  return {
    id: text(row.id),
    accountId: int(row.account_id),
    type: text(row.type),
    created: date(row.created_at),
    exportId: textOrNull(row.export_id),
    body: text(row.body),
  };
}

export class SqliteEvents implements EventsPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async insert(events: readonly NewEvent[]): Promise<NewEvent[]> {
    if (events.length === 0) return [];
    return this.#x.atomic(() => {
      const insert = this.#x.sql(
        'INSERT INTO events (id, account_id, type, created_at, export_id, body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      );
      return events.filter((e) => insert.run(e.id, e.accountId, e.type, ms(e.created), e.exportId, e.body).changes === 1);
    });
  }

  async get(id: string): Promise<NewEvent | null> {
    const row = this.#x.sql('SELECT * FROM events WHERE id = ?').get(id) as Row | undefined;
    return row ? toEvent(row) : null;
  }

  async list(accountId: number, query: EventQuery): Promise<NewEvent[]> {
    const where = ['account_id = ?'];
    const values: unknown[] = [accountId];
    if (query.type !== undefined) {
      if (query.type.endsWith('.*')) {
        // instr, not LIKE: LIKE ignores case and treats `_` as a wildcard.
        where.push('instr(type, ?) = 1');
        values.push(query.type.slice(0, -1));
      } else {
        where.push('type = ?');
        values.push(query.type);
      }
    }
    if (query.since !== undefined) {
      where.push('created_at >= ?');
      values.push(ms(query.since));
    }
    if (query.startingAfter !== undefined) {
      where.push('seq > coalesce((SELECT seq FROM events WHERE id = ?), 0)');
      values.push(query.startingAfter);
    }
    const rows = this.#x.sql(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...values, query.limit) as Row[];
    return rows.map(toEvent);
  }

  async purge(before: Date): Promise<number> {
    return this.#x.sql('DELETE FROM events WHERE created_at < ?').run(ms(before)).changes;
  }
}
