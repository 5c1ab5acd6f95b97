import { expect, it } from 'vitest';
import type { ApiKeyRecord, NewApiKey } from '@ferry/core';
import { sampleApiKey } from './fixtures.js';
import { MINUTE, T0, type Run } from './harness.js';

/** A key as `addKey` leaves it: never with its hash. */
function keyRecord(key: NewApiKey, changes: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return { id: key.id, accountId: key.accountId, prefix: key.prefix, createdAt: key.createdAt, lastUsedAt: null, revokedAt: null, ...changes };
}

export function describeAccounts(run: Run): void {
  it(
    'accounts: create, get, list oldest first, and first is the lowest id (null before any)',
    run(async (s) => {
      const { store } = await s.fresh();
      expect(await store.accounts.first()).toBeNull();
      expect(await store.accounts.list()).toEqual([]);
      const acme = await store.accounts.create({ name: 'Acme "Rentals" ✓', createdAt: new Date(T0 + 17) });
      expect(acme).toEqual({ id: expect.any(Number), name: 'Acme "Rentals" ✓', createdAt: new Date(T0 + 17) });
      const anonymous = await store.accounts.create({ name: null, createdAt: new Date(T0 + MINUTE) });
      expect(anonymous).toEqual({ id: expect.any(Number), name: null, createdAt: new Date(T0 + MINUTE) });
      expect(anonymous.id).not.toBe(acme.id);
      expect(await store.accounts.get(acme.id)).toEqual(acme);
      expect(await store.accounts.get(anonymous.id)).toEqual(anonymous);
      expect(await store.accounts.get(acme.id + anonymous.id + 1000)).toBeNull();
      expect(await store.accounts.list()).toEqual([acme, anonymous]);
      expect(await store.accounts.first()).toEqual(acme);
    }),
  );

  it(
    'keys: addKey refuses a hash stored before; findKey, getKey and listKeys never return the hash',
    run(async (s) => {
      const { store } = await s.fresh();
      const a = (await store.accounts.create({ name: 'a', createdAt: new Date(T0) })).id;
      const b = (await store.accounts.create({ name: 'b', createdAt: new Date(T0) })).id;
      const second = sampleApiKey(a, new Date(T0 + 2 * MINUTE));
      const first = sampleApiKey(a, new Date(T0 + MINUTE + 5));
      const theirs = sampleApiKey(b, new Date(T0));
      for (const key of [second, first, theirs]) expect(await store.accounts.addKey(key)).toBe(true);
      const clash = sampleApiKey(b, new Date(T0), { keyHash: first.keyHash });
      expect(await store.accounts.addKey(clash)).toBe(false);
      expect(await store.accounts.getKey(clash.id)).toBeNull();

      expect(await store.accounts.findKey(first.keyHash)).toEqual(keyRecord(first));
      expect(await store.accounts.findKey('hash-of-nothing')).toBeNull();
      expect(await store.accounts.getKey(second.id)).toEqual(keyRecord(second));
      expect(await store.accounts.getKey('key_unknown')).toBeNull();
      expect(await store.accounts.listKeys(a)).toEqual([keyRecord(first), keyRecord(second)]);
      expect(await store.accounts.listKeys(b)).toEqual([keyRecord(theirs)]);
      expect(await store.accounts.listKeys(a + b + 1000)).toEqual([]);
    }),
  );

  it(
    'keys: revokeKey is true once and keeps the key listed; touchKey records the last use; countActiveKeys counts the unrevoked',
    run(async (s) => {
      const { store } = await s.fresh();
      expect(await store.accounts.countActiveKeys()).toBe(0);
      const a = (await store.accounts.create({ name: 'a', createdAt: new Date(T0) })).id;
      const b = (await store.accounts.create({ name: 'b', createdAt: new Date(T0) })).id;
      const [k1, k2, k3] = [sampleApiKey(a, new Date(T0)), sampleApiKey(a, new Date(T0 + 1)), sampleApiKey(b, new Date(T0 + 2))];
      for (const key of [k1, k2, k3]) await store.accounts.addKey(key);
      expect(await store.accounts.countActiveKeys()).toBe(3);

      await store.accounts.touchKey(k1.id, new Date(T0 + MINUTE));
      await store.accounts.touchKey(k1.id, new Date(T0 + 2 * MINUTE + 9));
      expect(await store.accounts.getKey(k1.id)).toEqual(keyRecord(k1, { lastUsedAt: new Date(T0 + 2 * MINUTE + 9) }));

      expect(await store.accounts.revokeKey(k1.id, new Date(T0 + 3 * MINUTE))).toBe(true);
      expect(await store.accounts.revokeKey(k1.id, new Date(T0 + 4 * MINUTE))).toBe(false);
      expect(await store.accounts.revokeKey('key_unknown', new Date(T0))).toBe(false);
      const revoked = keyRecord(k1, { lastUsedAt: new Date(T0 + 2 * MINUTE + 9), revokedAt: new Date(T0 + 3 * MINUTE) });
      expect(await store.accounts.findKey(k1.keyHash)).toEqual(revoked);
      expect(await store.accounts.listKeys(a)).toEqual([revoked, keyRecord(k2)]);
      expect(await store.accounts.countActiveKeys()).toBe(2);
      expect(await store.accounts.revokeKey(k3.id, new Date(T0))).toBe(true);
      expect(await store.accounts.countActiveKeys()).toBe(1);
    }),
  );

  it(
    'settings: putIfAbsent keeps the first value and returns it, get reads, put overwrites',
    run(async (s) => {
      const { store } = await s.fresh();
      expect(await store.settings.get('signing.seed')).toBeNull();
      expect(await store.settings.putIfAbsent('signing.seed', 'one')).toBe('one');
      expect(await store.settings.putIfAbsent('signing.seed', 'two')).toBe('one');
      expect(await store.settings.get('signing.seed')).toBe('one');
      await store.settings.put('signing.seed', 'three');
      expect(await store.settings.get('signing.seed')).toBe('three');
      expect(await store.settings.putIfAbsent('signing.seed', 'four')).toBe('three');
      await store.settings.put('fresh', '');
      expect(await store.settings.get('fresh')).toBe('');
      expect(await store.settings.putIfAbsent('fresh', 'x')).toBe('');
      expect(await store.settings.get('other')).toBeNull();
    }),
  );

  it(
    'settings: putIfAbsent has one winner when stores on the same location race',
    run(async (s) => {
      const location = await s.newLocation();
      const [one, two] = [await s.open(location), await s.open(location)];
      const results = await Promise.all([one, two, one, two].map((store, i) => store.settings.putIfAbsent('instance.id', `value-${i}`)));
      const winner = results[0]!;
      expect(['value-0', 'value-1', 'value-2', 'value-3']).toContain(winner);
      expect(results).toEqual([winner, winner, winner, winner]);
      expect(await one.settings.get('instance.id')).toBe(winner);
      expect(await two.settings.get('instance.id')).toBe(winner);
    }),
  );
}
