import { FerryError, type Account, type AccountRecord, type ApiKeyRecord, type JobStore } from '@ferry/core';
import { generateApiKey, hashApiKey } from './api-keys.js';
import { randomId } from './ids.js';
import { syncSinkEndpoints } from './sinks.js';

/** How stale `lastUsedAt` may get: refreshing it on every request would add a write to every read. */
const TOUCH_EVERY_MS = 60_000;
const PREFIX_LENGTH = 12;
const DEFAULT_ACCOUNT = 'default_account_id';

/** Accounts and their API keys: authentication, the first-run key, tenants and key rotation. */
export class AccountService {
  constructor(
    private readonly deps: {
      jobs: JobStore;
      now?: () => Date;
      /** Configured event sinks: a new account gets its hidden endpoint for each in the transaction that creates it. */
      sinkNames?: readonly string[];
    },
  ) {}

  #now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** The account an API key belongs to. Unknown and revoked keys are refused alike. */
  async authenticate(apiKey: string | undefined): Promise<Account & { keyId: string }> {
    const key = apiKey ? await this.deps.jobs.accounts.findKey(hashApiKey(apiKey)) : null;
    if (!key || key.revokedAt) throw new FerryError('UNAUTHORIZED', 'missing, unknown or revoked API key (send it in the x-api-key header)');
    const now = this.#now();
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= TOUCH_EVERY_MS) await this.deps.jobs.accounts.touchKey(key.id, now);
    return { id: key.accountId, keyId: key.id };
  }

  /**
   * At start: a configured key is registered for the default account (idempotent). With none
   * configured and no active key stored, a key is generated and returned so it can be shown once.
   */
  async bootstrap(configured: string | undefined): Promise<string | null> {
    if (configured) {
      await this.#register(configured, (await this.#defaultAccount()).id);
      return null;
    }
    if ((await this.deps.jobs.accounts.countActiveKeys()) > 0) return null;
    const key = generateApiKey();
    await this.#register(key, (await this.#defaultAccount()).id);
    return key;
  }

  async createAccount(name: string | null): Promise<AccountRecord> {
    const sinks = this.deps.sinkNames ?? [];
    const createdAt = this.#now();
    if (sinks.length === 0) return this.deps.jobs.accounts.create({ name, createdAt });
    // Together, so no event of the new account is ever recorded before its sink endpoints exist.
    return this.deps.jobs.transaction(async (tx) => {
      const account = await tx.accounts.create({ name, createdAt });
      await syncSinkEndpoints(tx, account.id, sinks, createdAt);
      return account;
    });
  }

  listAccounts(): Promise<AccountRecord[]> {
    return this.deps.jobs.accounts.list();
  }

  /** A new key for the account, returned once; only its hash is kept. */
  async createKey(accountId: number): Promise<{ id: string; key: string; record: ApiKeyRecord }> {
    if (!(await this.deps.jobs.accounts.get(accountId))) throw new FerryError('NOT_FOUND', `no account ${accountId}`);
    const key = generateApiKey();
    const id = await this.#register(key, accountId);
    return { id, key, record: (await this.deps.jobs.accounts.getKey(id))! };
  }

  async listKeys(accountId: number): Promise<ApiKeyRecord[]> {
    if (!(await this.deps.jobs.accounts.get(accountId))) throw new FerryError('NOT_FOUND', `no account ${accountId}`);
    return this.deps.jobs.accounts.listKeys(accountId);
  }

  /** Revoke at once. `accountId` scopes a tenant's own request: another account's key is not found. */
  async revokeKey(keyId: string, accountId?: number): Promise<void> {
    const key = await this.deps.jobs.accounts.getKey(keyId);
    if (!key || (accountId !== undefined && key.accountId !== accountId)) throw new FerryError('NOT_FOUND', `no key ${keyId}`);
    await this.deps.jobs.accounts.revokeKey(keyId, this.#now());
  }

  /**
   * The default account: the first one, created on first use. Processes starting together on an
   * empty store may each create one; the setting decides which is the default, once.
   */
  async #defaultAccount(): Promise<{ id: number }> {
    const { accounts, settings } = this.deps.jobs;
    const stored = await settings.get(DEFAULT_ACCOUNT);
    if (stored !== null) return { id: Number(stored) };
    const candidate = (await accounts.first()) ?? (await this.createAccount(null));
    return { id: Number(await settings.putIfAbsent(DEFAULT_ACCOUNT, String(candidate.id))) };
  }

  async #register(key: string, accountId: number): Promise<string> {
    const keyHash = hashApiKey(key);
    const id = randomId('key');
    if (await this.deps.jobs.accounts.addKey({ id, accountId, keyHash, prefix: key.slice(0, PREFIX_LENGTH), createdAt: this.#now() })) return id;
    return (await this.deps.jobs.accounts.findKey(keyHash))!.id;
  }
}
