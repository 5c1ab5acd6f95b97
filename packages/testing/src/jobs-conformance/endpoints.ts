import { expect, it } from 'vitest';
import type { Endpoint, EndpointChanges, NewEndpoint } from '@ferry/core';
import { newAccount, sampleEndpoint, sampleImplicitEndpoint } from './fixtures.js';
import { DAY, MINUTE, T0, type Run } from './harness.js';

/** An endpoint as `insert` leaves it. */
export function insertedEndpoint(endpoint: NewEndpoint): Endpoint {
  return { ...endpoint, enabled: true, disabledReason: null, failingSince: null, updatedAt: expect.any(Date) as unknown as Date };
}

export function describeEndpoints(run: Run): void {
  it(
    'endpoints: insert and get round-trip every field, registered and implicit',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const registered = sampleEndpoint(account, {
        scheme: 'standard-webhooks',
        secrets: [
          { value: 'whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldw==', expiresAt: null },
          { value: 'whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA==', expiresAt: new Date(T0 + DAY + 321) },
        ],
        events: ['export.completed', 'endpoint.*'],
        description: 'ops "alerts" — ✓',
        scheduleMs: [1000, 60_000, 3_600_000],
        createdAt: clock.at(-12),
      });
      const header = sampleEndpoint(account, { scheme: 'secret-header', events: ['*'], description: null, secrets: [{ value: 's3cr3t', expiresAt: null }] });
      const implicit = sampleImplicitEndpoint(account, { createdAt: clock.at() });
      for (const endpoint of [registered, header, implicit]) await store.endpoints.insert(endpoint);
      for (const endpoint of [registered, header, implicit]) expect(await store.endpoints.get(endpoint.id)).toEqual(insertedEndpoint(endpoint));
      expect((await store.endpoints.get(registered.id))!.secrets[1]!.expiresAt!.getTime()).toBe(T0 + DAY + 321);
      expect(await store.endpoints.get('ep_unknown')).toBeNull();
    }),
  );

  it(
    'endpoints: findImplicit finds the implicit endpoint by account, URL and scheme, never a registered one',
    run(async (s) => {
      const { store } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const url = 'https://hooks.example.com/ferry';
      const lookalike = sampleEndpoint(a, { url, scheme: 'ferry-hmac', secrets: [], events: ['*'] });
      await store.endpoints.insert(lookalike);
      expect(await store.endpoints.findImplicit(a, url, 'ferry-hmac')).toBeNull();
      const implicit = sampleImplicitEndpoint(a, { url, scheme: 'ferry-hmac' });
      const otherScheme = sampleImplicitEndpoint(a, { url, scheme: 'standard-webhooks', secrets: [{ value: 'whsec_eA==', expiresAt: null }] });
      await store.endpoints.insert(implicit);
      await store.endpoints.insert(otherScheme);
      expect(await store.endpoints.findImplicit(a, url, 'ferry-hmac')).toEqual(insertedEndpoint(implicit));
      expect(await store.endpoints.findImplicit(a, url, 'standard-webhooks')).toEqual(insertedEndpoint(otherScheme));
      expect(await store.endpoints.findImplicit(a, url, 'secret-header')).toBeNull();
      expect(await store.endpoints.findImplicit(a, `${url}/other`, 'ferry-hmac')).toBeNull();
      expect(await store.endpoints.findImplicit(b, url, 'ferry-hmac')).toBeNull();
      // A disabled implicit endpoint still exists: it is found, not duplicated.
      expect(await store.endpoints.disable(implicit.id, 'receiver answered 410 Gone', new Date(T0))).toBe(true);
      expect(await store.endpoints.findImplicit(a, url, 'ferry-hmac')).toMatchObject({ id: implicit.id, enabled: false });
    }),
  );

  it(
    'endpoints: listRegistered gives an account\'s registered endpoints oldest first; listSubscribers only the enabled ones',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const [a, b] = [await newAccount(store), await newAccount(store)];
      const second = sampleEndpoint(a, { createdAt: clock.at(2 * MINUTE), url: 'https://hooks.example.com/2' });
      const first = sampleEndpoint(a, { createdAt: clock.at(MINUTE), url: 'https://hooks.example.com/1' });
      const third = sampleEndpoint(a, { createdAt: clock.at(3 * MINUTE), url: 'https://hooks.example.com/3' });
      const implicit = sampleImplicitEndpoint(a, { createdAt: clock.at() });
      const elsewhere = sampleEndpoint(b, { createdAt: clock.at() });
      for (const endpoint of [second, first, third, implicit, elsewhere]) await store.endpoints.insert(endpoint);
      expect(await store.endpoints.disable(second.id, 'too many failures', clock.at(4 * MINUTE))).toBe(true);

      const registered = await store.endpoints.listRegistered(a);
      expect(registered.map((e) => e.id)).toEqual([first.id, second.id, third.id]);
      expect(registered[0]).toEqual(insertedEndpoint(first));
      expect((await store.endpoints.listSubscribers(a)).map((e) => e.id)).toEqual([first.id, third.id]);
      expect((await store.endpoints.listSubscribers(b)).map((e) => e.id)).toEqual([elsewhere.id]);
      expect(await store.endpoints.listRegistered(a + b + 1000)).toEqual([]);
      expect(await store.endpoints.listSubscribers(a + b + 1000)).toEqual([]);
    }),
  );

  it(
    'endpoints: update sets each given field and keeps the absent ones',
    run(async (s) => {
      const { store, clock } = await s.fresh();
      const account = await newAccount(store);
      const endpoint = sampleEndpoint(account, { scheduleMs: [5000] });
      await store.endpoints.insert(endpoint);
      let expected: Endpoint = insertedEndpoint(endpoint);
      const steps: Array<Omit<EndpointChanges, 'updatedAt'>> = [
        { url: 'https://hooks.example.com/moved' },
        { events: ['export.failed', 'dataset.*'] },
        { description: null },
        { description: 'back again' },
        { scheduleMs: [100, 200] },
        { scheduleMs: null },
        { secrets: [{ value: 'whsec_bmV3', expiresAt: null }, { value: endpoint.secrets[0]!.value, expiresAt: new Date(T0 + DAY) }] },
        { secrets: [] },
        { enabled: false, disabledReason: 'paused by its owner' },
        { enabled: true, disabledReason: null },
        { failingSince: new Date(T0 - MINUTE) },
        { failingSince: null },
        {},
      ];
      for (const [i, change] of steps.entries()) {
        const updatedAt = new Date(T0 + (i + 1) * MINUTE);
        expected = { ...expected, ...change, updatedAt };
        expect(await store.endpoints.update(endpoint.id, { ...change, updatedAt })).toEqual(expected);
        expect(await store.endpoints.get(endpoint.id)).toEqual(expected);
      }
      expect(await store.endpoints.update('ep_unknown', { url: 'https://x.example.com/', updatedAt: clock.at() })).toBeNull();
    }),
  );

  it(
    'endpoints: delete removes an endpoint once',
    run(async (s) => {
      const { store } = await s.fresh();
      const account = await newAccount(store);
      const [gone, kept] = [sampleEndpoint(account), sampleEndpoint(account)];
      await store.endpoints.insert(gone);
      await store.endpoints.insert(kept);
      expect(await store.endpoints.delete(gone.id)).toBe(true);
      expect(await store.endpoints.get(gone.id)).toBeNull();
      expect(await store.endpoints.delete(gone.id)).toBe(false);
      expect((await store.endpoints.listRegistered(account)).map((e) => e.id)).toEqual([kept.id]);
    }),
  );

  it(
    'endpoints: disable turns an enabled endpoint off with its reason, true for exactly one call, also when racing',
    run(async (s) => {
      const { store, clock, location } = await s.fresh();
      const other = await s.open(location, clock);
      const account = await newAccount(store);
      const endpoint = sampleEndpoint(account);
      await store.endpoints.insert(endpoint);
      const racing = await Promise.all([store, other, store, other].map((st, i) => st.endpoints.disable(endpoint.id, `reason ${i}`, clock.at())));
      expect(racing.filter((won) => won)).toEqual([true]);
      const winner = `reason ${racing.indexOf(true)}`;
      expect(await store.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: winner });
      expect(await store.endpoints.disable(endpoint.id, 'later', clock.at(MINUTE))).toBe(false);
      expect(await other.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: winner });
      await store.endpoints.update(endpoint.id, { enabled: true, disabledReason: null, updatedAt: clock.at(2 * MINUTE) });
      expect(await store.endpoints.disable(endpoint.id, 'receiver answered 410 Gone', clock.at(3 * MINUTE))).toBe(true);
      expect(await store.endpoints.get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'receiver answered 410 Gone' });
      expect(await store.endpoints.disable('ep_unknown', 'x', clock.at())).toBe(false);
    }),
  );

  it(
    'endpoints: markFailing keeps the start of the current run of failures; markHealthy ends it',
    run(async (s) => {
      const { store } = await s.fresh();
      const account = await newAccount(store);
      const endpoint = sampleEndpoint(account);
      await store.endpoints.insert(endpoint);
      await store.endpoints.markFailing(endpoint.id, new Date(T0));
      await store.endpoints.markFailing(endpoint.id, new Date(T0 + MINUTE));
      expect(await store.endpoints.get(endpoint.id)).toMatchObject({ failingSince: new Date(T0), enabled: true });
      await store.endpoints.markHealthy([endpoint.id]);
      expect(await store.endpoints.get(endpoint.id)).toMatchObject({ failingSince: null, enabled: true });
      await store.endpoints.markHealthy([endpoint.id]);
      await store.endpoints.markHealthy([]);
      await store.endpoints.markFailing(endpoint.id, new Date(T0 + 2 * MINUTE));
      expect(await store.endpoints.get(endpoint.id)).toMatchObject({ failingSince: new Date(T0 + 2 * MINUTE) });

      // One call ends the runs of several endpoints, and only theirs.
      const others = [sampleEndpoint(account), sampleEndpoint(account), sampleEndpoint(account)];
      for (const e of others) {
        await store.endpoints.insert(e);
        await store.endpoints.markFailing(e.id, new Date(T0));
      }
      await store.endpoints.markHealthy([others[0]!.id, others[1]!.id, 'no-such-endpoint']);
      expect((await Promise.all(others.map((e) => store.endpoints.get(e.id)))).map((e) => e?.failingSince ?? null)).toEqual([null, null, new Date(T0)]);
    }),
  );
}
