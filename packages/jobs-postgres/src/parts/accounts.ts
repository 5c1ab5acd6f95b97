import type { AccountRecord, AccountsPart, ApiKeyRecord, NewApiKey } from '@ferry/core';
import { num, toAccount, toApiKey } from '../rows.js';
import type { Session } from '../session.js';

const KEY_COLUMNS = 'id, account_id, prefix, created_at, last_used_at, revoked_at';

export class PostgresAccounts implements AccountsPart {
  constructor(private readonly s: Session) {}

  async create(account: { name: string | null; createdAt: Date }): Promise<AccountRecord> {
    const row = await this.s.one(`INSERT INTO ${this.s.t.accounts} (name, created_at) VALUES ($1, $2) RETURNING *`, [account.name, account.createdAt]);
    return toAccount(row!);
  }

  async get(id: number): Promise<AccountRecord | null> {
    const row = await this.s.one(`SELECT * FROM ${this.s.t.accounts} WHERE id = $1`, [id]);
    return row && toAccount(row);
  }

  async list(): Promise<AccountRecord[]> {
    return (await this.s.rows(`SELECT * FROM ${this.s.t.accounts} ORDER BY id`)).map(toAccount);
  }

  async first(): Promise<AccountRecord | null> {
    const row = await this.s.one(`SELECT * FROM ${this.s.t.accounts} ORDER BY id LIMIT 1`);
    return row && toAccount(row);
  }

  async addKey(key: NewApiKey): Promise<boolean> {
    const added = await this.s.changed(
      `INSERT INTO ${this.s.t.apiKeys} (id, account_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key_hash) DO NOTHING`,
      [key.id, key.accountId, key.keyHash, key.prefix, key.createdAt],
    );
    return added === 1;
  }

  async findKey(keyHash: string): Promise<ApiKeyRecord | null> {
    const row = await this.s.one(`SELECT ${KEY_COLUMNS} FROM ${this.s.t.apiKeys} WHERE key_hash = $1`, [keyHash]);
    return row && toApiKey(row);
  }

  async getKey(id: string): Promise<ApiKeyRecord | null> {
    const row = await this.s.one(`SELECT ${KEY_COLUMNS} FROM ${this.s.t.apiKeys} WHERE id = $1`, [id]);
    return row && toApiKey(row);
  }

  async listKeys(accountId: number): Promise<ApiKeyRecord[]> {
    const rows = await this.s.rows(`SELECT ${KEY_COLUMNS} FROM ${this.s.t.apiKeys} WHERE account_id = $1 ORDER BY created_at, seq`, [accountId]);
    return rows.map(toApiKey);
  }

  async revokeKey(id: string, at: Date): Promise<boolean> {
    return (await this.s.changed(`UPDATE ${this.s.t.apiKeys} SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, [id, at])) === 1;
  }

  async touchKey(id: string, at: Date): Promise<void> {
    await this.s.run(`UPDATE ${this.s.t.apiKeys} SET last_used_at = $2 WHERE id = $1`, [id, at]);
  }

  async countActiveKeys(): Promise<number> {
    const row = await this.s.one(`SELECT count(*) AS n FROM ${this.s.t.apiKeys} WHERE revoked_at IS NULL`);
    return num(row?.n ?? 0);
  }
}
