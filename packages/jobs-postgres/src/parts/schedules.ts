import type { NewSchedule, Schedule, ScheduleKind, SchedulesPart } from '@ferry/core';
import { toSchedule } from '../rows.js';
import type { Session } from '../session.js';

export class PostgresSchedules implements SchedulesPart {
  constructor(private readonly s: Session) {}

  private get table(): string {
    return this.s.t.schedules;
  }

  async upsert(x: NewSchedule): Promise<Schedule> {
    // A restart with the same cron keeps the pending tick; a new cron starts from the new next run.
    const row = await this.s.one(
      `INSERT INTO ${this.table} AS s (id, kind, account_id, name, dataset_key, cron, body, next_run_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET
         kind = EXCLUDED.kind, account_id = EXCLUDED.account_id, name = EXCLUDED.name, dataset_key = EXCLUDED.dataset_key,
         cron = EXCLUDED.cron, body = EXCLUDED.body,
         next_run_at = CASE WHEN s.cron = EXCLUDED.cron THEN s.next_run_at ELSE EXCLUDED.next_run_at END
       RETURNING *`,
      [x.id, x.kind, x.accountId, x.name, x.datasetKey, x.cron, JSON.stringify(x.body ?? null), x.nextRunAt, this.s.now()],
    );
    return toSchedule(row!);
  }

  async get(id: string): Promise<Schedule | null> {
    const row = await this.s.one(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return row && toSchedule(row);
  }

  async list(filter: { accountId?: number; kind?: ScheduleKind }): Promise<Schedule[]> {
    const rows = await this.s.rows(
      `SELECT * FROM ${this.table}
       WHERE ($1::bigint IS NULL OR account_id = $1) AND ($2::text IS NULL OR kind = $2)
       ORDER BY created_at, seq`,
      [filter.accountId ?? null, filter.kind ?? null],
    );
    return rows.map(toSchedule);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.s.changed(`DELETE FROM ${this.table} WHERE id = $1`, [id])) === 1;
  }

  async listDue(now: Date, limit: number): Promise<Schedule[]> {
    const rows = await this.s.rows(`SELECT * FROM ${this.table} WHERE next_run_at <= $1 ORDER BY next_run_at, id LIMIT $2`, [now, limit]);
    return rows.map(toSchedule);
  }

  async claimTick(id: string, tick: Date, next: Date, at: Date): Promise<boolean> {
    // Compare-and-set in one statement: of several schedulers that saw the same tick, one wins.
    const changed = await this.s.changed(`UPDATE ${this.table} SET next_run_at = $3, last_run_at = $4 WHERE id = $1 AND next_run_at = $2`, [
      id,
      tick,
      next,
      at,
    ]);
    return changed === 1;
  }
}
