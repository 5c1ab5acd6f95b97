import type { AccountRecord, AccountsPart, ApiKeyRecord, NewApiKey } from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { date, dateOrNull, int, ms, textOrNull, text, type Row } from './columns.js';

const KEY_COLUMNS = 'id, account_id, prefix, created_at, last_used_at, revoked_at';

function toAccount(row: Row): AccountRecord {
  return { id: int(row.id), name: textOrNull(row.name), createdAt: date(row.created_at) };
}

function toKey(row: Row): ApiKeyRecord {
  return {
    id: text(row.id),
    accountId: int(row.account_id),
    prefix: text(row.prefix),
    createdAt: date(row.created_at),
    lastUsedAt: dateOrNull(row.last_used_at),
    revokedAt: dateOrNull(row.revoked_at),
  };
}

export class SqliteAccounts implements AccountsPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async create(account: { name: string | null; createdAt: Date }): Promise<AccountRecord> {
    const row = this.#x.sql('INSERT INTO accounts (name, created_at) VALUES (?, ?) RETURNING *').get(account.name, ms(account.createdAt)) as Row;
    return toAccount(row);
  }

  async get(id: number): Promise<AccountRecord | null> {
    const row = this.#x.sql('SELECT * FROM accounts WHERE id = ?').get(id) as Row | undefined;
    return row ? toAccount(row) : null;
  }

  async list(): Promise<AccountRecord[]> {
    return (this.#x.sql('SELECT * FROM accounts ORDER BY created_at, id').all() as Row[]).map(toAccount);
  }

  async first(): Promise<AccountRecord | null> {
    const row = this.#x.sql('SELECT * FROM accounts ORDER BY id LIMIT 1').get() as Row | undefined;
    return row ? toAccount(row) : null;
  }

  async addKey(key: NewApiKey): Promise<boolean> {
    // Only a repeated hash is "already there"; a repeated id is a bug and fails loudly.
    const info = this.#x
      .sql(
        `INSERT INTO api_keys (id, key_hash, account_id, prefix, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key_hash) DO NOTHING`,
      )
      .run(key.id, key.keyHash, key.accountId, key.prefix, ms(key.createdAt));
    return info.changes === 1;
  }

  async findKey(keyHash: string): Promise<ApiKeyRecord | null> {
    const row = this.#x.sql(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_hash = ?`).get(keyHash) as Row | undefined;
    return row ? toKey(row) : null;
  }

  async getKey(id: string): Promise<ApiKeyRecord | null> {
    const row = this.#x.sql(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`).get(id) as Row | undefined;
    return row ? toKey(row) : null;
  }

  async listKeys(accountId: number): Promise<ApiKeyRecord[]> {
    const rows = this.#x.sql(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_at, id`).all(accountId) as Row[];
    return rows.map(toKey);
  }

  async revokeKey(id: string, at: Date): Promise<boolean> {
    return this.#x.sql('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(ms(at), id).changes === 1;
  }

  async touchKey(id: string, at: Date): Promise<void> {
    this.#x.sql('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(ms(at), id);
  }

  async countActiveKeys(): Promise<number> {
    return int((this.#x.sql('SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL').get() as Row).n);
  }
}
