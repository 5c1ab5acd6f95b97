import type { NewSchedule, Schedule, ScheduleKind, SchedulesPart } from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { date, dateOrNull, intOrNull, json, ms, text, type Row } from './columns.js';

function toSchedule(row: Row): Schedule {
  return {
    id: text(row.id),
    kind: row.kind as ScheduleKind,
    accountId: intOrNull(row.account_id),
    name: text(row.name),
    datasetKey: text(row.dataset_key),
    cron: text(row.cron),
    body: json<unknown>(row.body),
    nextRunAt: date(row.next_run_at),
    lastRunAt: dateOrNull(row.last_run_at),
    createdAt: date(row.created_at),
  };
}

export class SqliteSchedules implements SchedulesPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async upsert(s: NewSchedule): Promise<Schedule> {
    // A restart with the same cron keeps the pending tick; a new cron starts from the given next run.
    const row = this.#x
      .sql(
        `INSERT INTO schedules (id, kind, account_id, name, dataset_key, cron, body, next_run_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, account_id = excluded.account_id, name = excluded.name,
           dataset_key = excluded.dataset_key, body = excluded.body,
           next_run_at = CASE WHEN schedules.cron = excluded.cron THEN schedules.next_run_at ELSE excluded.next_run_at END,
           cron = excluded.cron
         RETURNING *`,
      )
      .get(s.id, s.kind, s.accountId, s.name, s.datasetKey, s.cron, JSON.stringify(s.body), ms(s.nextRunAt), this.#x.now()) as Row;
    return toSchedule(row);
  }

  async get(id: string): Promise<Schedule | null> {
    const row = this.#x.sql('SELECT * FROM schedules WHERE id = ?').get(id) as Row | undefined;
    return row ? toSchedule(row) : null;
  }

  async list(filter: { accountId?: number; kind?: ScheduleKind }): Promise<Schedule[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.accountId !== undefined) {
      where.push('account_id = ?');
      values.push(filter.accountId);
    }
    if (filter.kind !== undefined) {
      where.push('kind = ?');
      values.push(filter.kind);
    }
    const rows = this.#x
      .sql(`SELECT * FROM schedules ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`)
      .all(...values) as Row[];
    return rows.map(toSchedule);
  }

  async delete(id: string): Promise<boolean> {
    return this.#x.sql('DELETE FROM schedules WHERE id = ?').run(id).changes === 1;
  }

  async listDue(now: Date, limit: number): Promise<Schedule[]> {
    const rows = this.#x.sql('SELECT * FROM schedules WHERE next_run_at <= ? ORDER BY next_run_at, id LIMIT ?').all(ms(now), limit) as Row[];
    return rows.map(toSchedule);
  }

  async claimTick(id: string, tick: Date, next: Date, at: Date): Promise<boolean> {
    // Compare-and-set in one statement: of several schedulers that saw the same tick, one wins.
    const info = this.#x.sql('UPDATE schedules SET next_run_at = ?, last_run_at = ? WHERE id = ? AND next_run_at = ?').run(ms(next), ms(at), id, ms(tick));
    return info.changes === 1;
  }
}
