import type { SettingsPart } from '@ferry/core';
import type { Session } from '../session.js';

export class PostgresSettings implements SettingsPart {
  constructor(private readonly s: Session) {}

  async get(name: string): Promise<string | null> {
    const row = await this.s.one(`SELECT value FROM ${this.s.t.settings} WHERE name = $1`, [name]);
    return row ? String(row.value) : null;
  }

  async putIfAbsent(name: string, value: string): Promise<string> {
    // The no-op update makes RETURNING yield the stored row when another writer got there first
    // (ON CONFLICT waits for that writer to commit), so one statement answers for both cases.
    const row = await this.s.one(
      `INSERT INTO ${this.s.t.settings} AS s (name, value) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET value = s.value
       RETURNING value`,
      [name, value],
    );
    return String(row!.value);
  }

  async put(name: string, value: string): Promise<void> {
    await this.s.run(
      `INSERT INTO ${this.s.t.settings} (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
      [name, value],
    );
  }
}
