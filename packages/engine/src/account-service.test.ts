import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { AccountService } from './account-service.js';

let dir: string;
let jobs: JobStore;
let clock: Date;
let accounts: AccountService;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-accounts-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  clock = new Date('2026-01-01T00:00:00Z');
  accounts = new AccountService({ jobs, now: () => clock });
});

afterEach(async () => {
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

describe('AccountService', () => {
  it('generates a first key once, and registers a configured key for the default account idempotently', async () => {
    const generated = await accounts.bootstrap(undefined);
    expect(generated).toMatch(/^fk_[A-Za-z0-9_-]{32}$/);
    expect(await accounts.bootstrap(undefined)).toBeNull();
    clock = new Date('2026-01-01T00:00:01Z');
    expect(await accounts.bootstrap('configured-key-123')).toBeNull();
    expect(await accounts.bootstrap('configured-key-123')).toBeNull();
    const a = await accounts.authenticate(generated!);
    const b = await accounts.authenticate('configured-key-123');
    expect(b.id).toBe(a.id);
    expect(await accounts.listAccounts()).toHaveLength(1);
    expect((await accounts.listKeys(a.id)).map((k) => k.prefix)).toEqual([generated!.slice(0, 12), 'configured-k']);
  });

  it('agrees on one default account when processes start together on an empty store', async () => {
    const others = [new SqliteJobStore({ file: join(dir, 'ferry.db') }), new SqliteJobStore({ file: join(dir, 'ferry.db') })];
    try {
      await Promise.all([accounts, ...others.map((j) => new AccountService({ jobs: j }))].map((s, i) => s.bootstrap(`configured-key-${i}-abcdef`)));
      const ids = await Promise.all([0, 1, 2].map(async (i) => (await accounts.authenticate(`configured-key-${i}-abcdef`)).id));
      expect(new Set(ids).size).toBe(1);
    } finally {
      await Promise.all(others.map((j) => j.close()));
    }
  });

  it('refuses unknown and revoked keys alike, at once', async () => {
    const tenant = await accounts.createAccount('tenant');
    const { id, key } = await accounts.createKey(tenant.id);
    expect((await accounts.authenticate(key)).id).toBe(tenant.id);
    await accounts.revokeKey(id);
    for (const k of [key, 'never-issued-key', undefined]) await expect(accounts.authenticate(k)).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 403 });
  });

  it('scopes a tenant revoking a key to its own keys', async () => {
    const a = await accounts.createAccount('a');
    const b = await accounts.createAccount('b');
    const keyOfB = await accounts.createKey(b.id);
    await expect(accounts.revokeKey(keyOfB.id, a.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await accounts.authenticate(keyOfB.key)).id).toBe(b.id);
    await expect(accounts.createKey(999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('records when a key was last used, at most once a minute', async () => {
    const tenant = await accounts.createAccount('tenant');
    const { id, key } = await accounts.createKey(tenant.id);
    await accounts.authenticate(key);
    expect((await jobs.accounts.getKey(id))!.lastUsedAt).toEqual(new Date('2026-01-01T00:00:00Z'));
    clock = new Date('2026-01-01T00:00:59Z');
    await accounts.authenticate(key);
    expect((await jobs.accounts.getKey(id))!.lastUsedAt).toEqual(new Date('2026-01-01T00:00:00Z'));
    clock = new Date('2026-01-01T00:01:00Z');
    await accounts.authenticate(key);
    expect((await jobs.accounts.getKey(id))!.lastUsedAt).toEqual(new Date('2026-01-01T00:01:00Z'));
  });
});

describe('AccountService: tenants and keys', () => {
  it('creates an account on the injected clock, and lists accounts oldest first', async () => {
    const a = await accounts.createAccount('first tenant');
    clock = new Date('2026-01-02T00:00:00Z');
    const b = await accounts.createAccount(null);
    expect(a).toMatchObject({ name: 'first tenant', createdAt: new Date('2026-01-01T00:00:00Z') });
    expect(b).toMatchObject({ name: null, createdAt: new Date('2026-01-02T00:00:00Z') });
    expect((await accounts.listAccounts()).map((x) => x.id)).toEqual([a.id, b.id]);
    // No sinks configured: an account gets no hidden endpoints.
    expect(await jobs.endpoints.listRegistered(a.id)).toEqual([]);
  });

  it('issues a key shown once, stored by its first 12 characters and hash only', async () => {
    const tenant = await accounts.createAccount('tenant');
    const { id, key, record } = await accounts.createKey(tenant.id);
    expect(id).toMatch(/^key_[A-Za-z0-9_-]{22}$/);
    expect(key).toMatch(/^fk_[A-Za-z0-9_-]{32}$/);
    expect(record).toEqual({ id, accountId: tenant.id, prefix: key.slice(0, 12), createdAt: clock, lastUsedAt: null, revokedAt: null });
    expect(await accounts.listKeys(tenant.id)).toEqual([record]);
    await expect(accounts.listKeys(tenant.id + 100)).rejects.toMatchObject({ code: 'NOT_FOUND', message: `no account ${tenant.id + 100}` });
  });

  it('revokes a key for the operator whatever its account, at the injected time; an unknown key is not found', async () => {
    const tenant = await accounts.createAccount('tenant');
    const { id, key } = await accounts.createKey(tenant.id);
    clock = new Date('2026-01-05T00:00:00Z');
    await accounts.revokeKey(id);
    expect((await jobs.accounts.getKey(id))!.revokedAt).toEqual(new Date('2026-01-05T00:00:00Z'));
    await expect(accounts.authenticate(key)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(accounts.revokeKey('key_never')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no key key_never' });
    // Its own account may revoke it too (again: nothing changes).
    await accounts.revokeKey(id, tenant.id);
    expect((await jobs.accounts.getKey(id))!.revokedAt).toEqual(new Date('2026-01-05T00:00:00Z'));
  });

  it('generates a first key again once every key was revoked, for the same default account', async () => {
    const first = (await accounts.bootstrap(undefined))!;
    const account = await accounts.authenticate(first);
    const [record] = await accounts.listKeys(account.id);
    await accounts.revokeKey(record!.id);
    const second = await accounts.bootstrap(undefined);
    expect(second).toMatch(/^fk_/);
    expect(second).not.toBe(first);
    expect((await accounts.authenticate(second!)).id).toBe(account.id);
    expect(await jobs.settings.get('default_account_id')).toBe(String(account.id));
  });

  it('makes the oldest existing account the default, and generates no key while a tenant’s key is active', async () => {
    const oldest = await accounts.createAccount('oldest');
    const tenant = await accounts.createAccount('tenant');
    await accounts.createKey(tenant.id);
    expect(await accounts.bootstrap(undefined)).toBeNull();
    await accounts.bootstrap('configured-key-abcdef');
    expect((await accounts.authenticate('configured-key-abcdef')).id).toBe(oldest.id);
    expect(await accounts.listAccounts()).toHaveLength(2);
  });

  it('keeps a configured key with the account it was first registered for', async () => {
    const tenant = await accounts.createAccount('tenant');
    await jobs.settings.put('default_account_id', String(tenant.id));
    await accounts.bootstrap('configured-key-abcdef');
    const [record] = await accounts.listKeys(tenant.id);
    await accounts.bootstrap('configured-key-abcdef');
    expect(await accounts.listKeys(tenant.id)).toEqual([record]);
    expect((await accounts.authenticate('configured-key-abcdef')).keyId).toBe(record!.id);
  });
});

describe('stored API keys', () => {
  it('are the hex SHA-256 of the key, so keys issued by earlier releases keep authenticating', async () => {
    const account = await jobs.accounts.create({ name: 'upgraded', createdAt: clock });
    // What a store written by an earlier release holds for the key `fk_from-an-older-release`.
    await jobs.accounts.addKey({ id: 'key_old', accountId: account.id, keyHash: '9a401c486ac60f1f927a2d881d52b68388ec204ed9f16d565d6829ee2f007d42', prefix: 'fk_from-', createdAt: clock });
    await expect(accounts.authenticate('fk_from-an-older-release')).resolves.toEqual({ id: account.id, keyId: 'key_old' });
  });

  it('refuse a missing, unknown or revoked key alike, with the header to use', async () => {
    for (const key of [undefined, '', 'fk_unknown']) {
      await expect(accounts.authenticate(key)).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: 'missing, unknown or revoked API key (send it in the x-api-key header)',
      });
    }
  });
});
