import type { SettingsPart } from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { text, type Row } from './columns.js';

export class SqliteSettings implements SettingsPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async get(name: string): Promise<string | null> {
    const row = this.#x.sql('SELECT value FROM settings WHERE name = ?').get(name) as Row | undefined;
    return row ? text(row.value) : null;
  }

  async putIfAbsent(name: string, value: string): Promise<string> {
    return this.#x.atomic(() => {
      this.#x.sql('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, value);
      return text((this.#x.sql('SELECT value FROM settings WHERE name = ?').get(name) as Row).value);
    });
  }

  async put(name: string, value: string): Promise<void> {
    this.#x.sql('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(name, value);
  }
}
