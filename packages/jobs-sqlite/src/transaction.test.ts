import { afterEach, describe, expect, it } from 'vitest';
import { FerryError, type NewExportJob } from '@ferry/core';
import { SqliteJobStore } from './sqlite-job-store.js';
import { tempDatabase } from './test-support/temp-db.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openStore(file?: string): { store: SqliteJobStore; file: string } {
  let path = file;
  if (!path) {
    const db = tempDatabase();
    cleanups.push(db.remove);
    path = db.file;
  }
  const store = new SqliteJobStore({ file: path });
  cleanups.push(() => store.close());
  return { store, file: path };
}

function job(accountId: number, id: string): NewExportJob {
  return {
    id,
    accountId,
    name: 'n',
    format: 'csv',
    compression: 'none',
    webhookUrl: 'https://hooks.example.com/x',
    endpointId: 'ep_x',
    datasetKey: 'rentals',
    query: {},
    hmacSignature: 'a'.repeat(64),
    requestedAt: new Date(),
    notifyOnFailure: false,
    split: null,
  };
}

/** A promise the test settles by hand, to hold a transaction open at a known point. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Let every queued callback run (microtasks, then one turn of the event loop). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SqliteJobStore transactions', () => {
  it('a call on the store made while a transaction is open waits for its commit instead of running inside it', async () => {
    const { store } = openStore();
    const held = gate();
    const seen: string[] = [];
    const tx = store.transaction(async (t) => {
      await t.accounts.create({ name: 'first', createdAt: new Date() });
      await held.wait;
      await t.accounts.create({ name: 'second', createdAt: new Date() });
      seen.push('committing');
    });
    await settle();
    const outside = store.accounts.list().then((accounts) => {
      seen.push('outside');
      return accounts;
    });
    await settle();
    held.open();
    await tx;
    // Run inside the transaction, the read would have seen one uncommitted account.
    expect((await outside).map((a) => a.name)).toEqual(['first', 'second']);
    expect(seen).toEqual(['committing', 'outside']);
  });

  it('rolls back everything and rethrows the same error when the callback throws', async () => {
    const { store } = openStore();
    const boom = new Error('boom');
    await expect(
      store.transaction(async (t) => {
        const account = await t.accounts.create({ name: 'gone', createdAt: new Date() });
        await t.exports.insert(job(account.id, 'exp_gone'));
        await t.settings.put('k', 'v');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.accounts.list()).toEqual([]);
    expect(await store.exports.get('exp_gone')).toBeNull();
    expect(await store.settings.get('k')).toBeNull();
    // The connection is usable again: a later transaction commits.
    await store.transaction(async (t) => t.settings.put('k', 'v2'));
    expect(await store.settings.get('k')).toBe('v2');
  });

  it('a part call that fails inside a transaction leaves none of its rows behind, and the transaction can go on', async () => {
    const { store } = openStore();
    const account = await store.accounts.create({ name: null, createdAt: new Date() });
    const event = (id: string, accountId: number) => ({ id, accountId, type: 'export.completed', created: new Date(), exportId: null, body: '{}' });
    const failure = await store
      .transaction(async (t) => {
        // The second event names an account that does not exist: the foreign key refuses it.
        const error = await t.events.insert([event('evt_1', account.id), event('evt_2', account.id + 99)]).catch((e: unknown) => e);
        await t.events.insert([event('evt_3', account.id)]);
        return error;
      })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FerryError);
    expect((failure as FerryError).code).toBe('CONFLICT');
    expect((await store.events.list(account.id, { limit: 10 })).map((e) => e.id)).toEqual(['evt_3']);
  });

  it('a multi-row call on the store itself is all or nothing', async () => {
    const { store } = openStore();
    const account = await store.accounts.create({ name: null, createdAt: new Date() });
    const event = (id: string, accountId: number) => ({ id, accountId, type: 'export.completed', created: new Date(), exportId: null, body: '{}' });
    await expect(store.events.insert([event('evt_1', account.id), event('evt_2', account.id + 99)])).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await store.events.get('evt_1')).toBeNull();
  });

  it('parts kept past the end of their transaction refuse to run', async () => {
    const { store } = openStore();
    const leaked = await store.transaction(async (t) => t);
    await expect(leaked.settings.put('k', 'v')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await store.settings.get('k')).toBeNull();
  });

  it('a second store on the same file in this process takes its turn instead of failing as busy', async () => {
    const { store: a, file } = openStore();
    const { store: b } = openStore(file);
    const held = gate();
    const tx = a.transaction(async (t) => {
      await t.settings.put('owner', 'a');
      await held.wait;
    });
    await settle();
    const write = b.settings.put('owner', 'b');
    await settle();
    held.open();
    await Promise.all([tx, write]);
    expect(await a.settings.get('owner')).toBe('b');
  });

  it('close waits for an open transaction to commit', async () => {
    const { store, file } = openStore();
    const held = gate();
    const tx = store.transaction(async (t) => {
      await held.wait;
      await t.settings.put('k', 'committed');
    });
    await settle();
    const closing = store.close();
    held.open();
    await Promise.all([tx, closing]);
    const { store: reopened } = openStore(file);
    expect(await reopened.settings.get('k')).toBe('committed');
    await expect(store.settings.get('k')).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});

describe('SqliteJobStore work hints', () => {
  it('announces new exports once their transaction commits, to every store on the file in this process', async () => {
    const { store: a, file } = openStore();
    const { store: b } = openStore(file);
    const heard: string[] = [];
    a.onWork('exports', () => heard.push('a'));
    b.onWork('exports', () => heard.push('b'));
    b.onWork('deliveries', () => heard.push('b-deliveries'));
    const account = await a.accounts.create({ name: null, createdAt: new Date() });
    await settle();
    expect(heard).toEqual([]);
    await a.transaction(async (t) => {
      await t.exports.insert(job(account.id, 'exp_1'));
      await settle();
      expect(heard).toEqual([]);
    });
    await settle();
    expect(heard.sort()).toEqual(['a', 'b']);
  });

  it('says nothing about work whose transaction rolled back, and stops after unsubscribe', async () => {
    const { store } = openStore();
    let heard = 0;
    const unsubscribe = store.onWork('exports', () => heard++);
    const account = await store.accounts.create({ name: null, createdAt: new Date() });
    await store
      .transaction(async (t) => {
        await t.exports.insert(job(account.id, 'exp_rolled_back'));
        throw new Error('changed my mind');
      })
      .catch(() => undefined);
    await settle();
    expect(heard).toBe(0);
    await store.exports.insert(job(account.id, 'exp_1'));
    await settle();
    expect(heard).toBe(1);
    unsubscribe();
    await store.exports.insert(job(account.id, 'exp_2'));
    await settle();
    expect(heard).toBe(1);
  });

  it('announces queued deliveries, and not a repeated insert of the same ids', async () => {
    const { store } = openStore();
    let heard = 0;
    store.onWork('deliveries', () => heard++);
    const account = await store.accounts.create({ name: null, createdAt: new Date() });
    const delivery = {
      id: 'dlv_1',
      accountId: account.id,
      endpointId: 'ep_1',
      messageId: 'evt_1',
      exportId: null,
      eventType: 'export.completed',
      body: '{}',
      headers: {},
      createdAt: new Date(),
    };
    await store.deliveries.insert([delivery]);
    await settle();
    expect(heard).toBe(1);
    await store.deliveries.insert([delivery]);
    await settle();
    expect(heard).toBe(1);
  });
});
