import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Endpoint, JobStore, NewEvent } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { activeSecrets, ensureImplicitEndpoint, rotatedSecrets, settleAttempts, settlementOnly, type AttemptOutcome } from './endpoint-rules.js';
import { recordEvents } from './outbox.js';
import { randomId } from './ids.js';

let dir: string;
let jobs: JobStore;
let accountId: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-rules-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  accountId = (await jobs.accounts.create({ name: 'a', createdAt: new Date() })).id;
});

afterEach(async () => {
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

async function endpoint(events: string[] | null, extra: Partial<Endpoint> = {}): Promise<Endpoint> {
  const id = randomId('ep');
  await jobs.endpoints.insert({
    id,
    accountId,
    url: `https://hooks.example.com/${id}`,
    scheme: 'standard-webhooks',
    secrets: [{ value: 'whsec_one', expiresAt: null }],
    events,
    description: null,
    registered: events !== null,
    scheduleMs: null,
    createdAt: new Date(),
    ...extra,
  });
  return (await jobs.endpoints.get(id))!;
}

function event(type: string, id = randomId('evt')): NewEvent {
  return { id, accountId, type, created: new Date('2026-01-01T00:00:00Z'), exportId: null, body: JSON.stringify({ type, id }) };
}

async function deliveriesTo(endpointId: string) {
  return jobs.deliveries.list(accountId, { endpointId, limit: 100 });
}

describe('recordEvents (the outbox fan-out)', () => {
  it('queues one delivery per registered, enabled endpoint whose filters match, carrying the event id', async () => {
    const all = await endpoint(['*']);
    const family = await endpoint(['export.*']);
    const other = await endpoint(['dataset.version.published']);
    const disabled = await endpoint(['*']);
    await jobs.endpoints.disable(disabled.id, 'test', new Date());
    const implicit = await endpoint(null);
    const e = event('export.completed');
    await jobs.transaction((tx) => recordEvents(tx, [e]));
    for (const subscribed of [all, family]) {
      expect((await deliveriesTo(subscribed.id)).map((d) => ({ messageId: d.messageId, eventType: d.eventType, body: d.body }))).toEqual([
        { messageId: e.id, eventType: 'export.completed', body: e.body },
      ]);
    }
    for (const silent of [other, disabled, implicit]) expect(await deliveriesTo(silent.id)).toEqual([]);
  });

  it('fans an event id out once, however often a retried transition records it', async () => {
    const all = await endpoint(['*']);
    const e = event('export.failed');
    await jobs.transaction((tx) => recordEvents(tx, [e]));
    await jobs.transaction((tx) => recordEvents(tx, [e]));
    expect(await deliveriesTo(all.id)).toHaveLength(1);
    expect(await jobs.events.list(accountId, { limit: 10 })).toHaveLength(1);
  });

  it('commits nothing when the transaction that announced the events fails', async () => {
    const all = await endpoint(['*']);
    await expect(
      jobs.transaction(async (tx) => {
        await recordEvents(tx, [event('export.requested')]);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await deliveriesTo(all.id)).toEqual([]);
    expect(await jobs.events.list(accountId, { limit: 10 })).toEqual([]);
  });
});

describe('ensureImplicitEndpoint', () => {
  it('creates one endpoint per account, URL and scheme, and re-enables it when asked again', async () => {
    const first = await ensureImplicitEndpoint(jobs, accountId, 'https://hooks.example.com/x', 'ferry-hmac', () => null);
    expect(first).toMatchObject({ registered: false, enabled: true, secrets: [], events: null });
    await jobs.endpoints.disable(first.id, 'the receiver answered 410 Gone', new Date());
    const again = await ensureImplicitEndpoint(jobs, accountId, 'https://hooks.example.com/x', 'ferry-hmac', () => null);
    expect(again).toMatchObject({ id: first.id, enabled: true, disabledReason: null, failingSince: null });
    const otherScheme = await ensureImplicitEndpoint(jobs, accountId, 'https://hooks.example.com/x', 'standard-webhooks', () => 'whsec_new');
    expect(otherScheme.id).not.toBe(first.id);
    expect(otherScheme.secrets).toEqual([{ value: 'whsec_new', expiresAt: null }]);
  });

  it('gives racing submits the same endpoint', async () => {
    const second = new SqliteJobStore({ file: join(dir, 'ferry.db') });
    try {
      const made = await Promise.all(
        Array.from({ length: 6 }, (_, i) => ensureImplicitEndpoint(i % 2 ? second : jobs, accountId, 'https://hooks.example.com/race', 'ferry-hmac', () => null)),
      );
      expect(new Set(made.map((e) => e.id)).size).toBe(1);
    } finally {
      await second.close();
    }
  });
});

describe('secret rotation', () => {
  it('puts the new secret first and keeps older ones until the grace period ends at the latest', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const grace = new Date('2026-01-02T00:00:00Z');
    const rotated = rotatedSecrets(
      [
        { value: 'current', expiresAt: null },
        { value: 'older', expiresAt: new Date('2026-01-01T06:00:00Z') },
        { value: 'expired', expiresAt: new Date('2025-12-31T00:00:00Z') },
      ],
      'new',
      grace,
      now,
    );
    expect(rotated).toEqual([
      { value: 'new', expiresAt: null },
      { value: 'current', expiresAt: new Date('2026-01-02T00:00:00Z') },
      { value: 'older', expiresAt: new Date('2026-01-01T06:00:00Z') },
    ]);
    expect(activeSecrets({ secrets: rotated }, new Date('2026-01-01T12:00:00Z'))).toEqual(['new', 'current']);
    expect(activeSecrets({ secrets: rotated }, new Date('2026-01-02T00:00:01Z'))).toEqual(['new']);
  });
});

describe('settleAttempts (endpoint health)', () => {
  async function leased(count: number, owner = 'w1') {
    const target = await endpoint(['*']);
    await jobs.transaction((tx) => recordEvents(tx, Array.from({ length: count }, () => event('export.completed'))));
    const claimed = await jobs.deliveries.claim(owner, { limit: count, leaseMs: 60_000, maxInFlightPerEndpoint: 100 });
    expect(claimed).toHaveLength(count);
    return { target, claimed };
  }
  const at = (iso: string) => new Date(iso);
  const failure = (deliveryId: string, when: string, extra: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
    deliveryId,
    attempt: { at: at(when), durationMs: 5, status: 500, error: 'HTTP 500', responseBody: null },
    next: { state: 'pending', nextAttemptAt: at('2026-02-01T00:00:00Z') },
    endpointWasFailing: false,
    ...extra,
  });
  const success = (deliveryId: string, when: string, endpointWasFailing = false): AttemptOutcome => ({
    deliveryId,
    attempt: { at: at(when), durationMs: 5, status: 200, error: null, responseBody: 'ok' },
    next: { state: 'succeeded' },
    endpointWasFailing,
  });

  it('starts a run of failures at the first failure, keeps it through later ones, and ends it on a success', async () => {
    const { target, claimed } = await leased(3);
    await jobs.transaction((tx) => settleAttempts(tx, 'w1', [failure(claimed[1]!.id, '2026-01-01T00:00:02Z'), failure(claimed[0]!.id, '2026-01-01T00:00:01Z')]));
    expect((await jobs.endpoints.get(target.id))!.failingSince).toEqual(at('2026-01-01T00:00:01Z'));
    await jobs.transaction((tx) => settleAttempts(tx, 'w1', [success(claimed[2]!.id, '2026-01-01T00:00:03Z')]));
    expect((await jobs.endpoints.get(target.id))!.failingSince).toBeNull();
  });

  it('disables an endpoint once, with one endpoint.disabled event, however many outcomes ask', async () => {
    const watcher = await endpoint(['endpoint.disabled']);
    const { target, claimed } = await leased(2);
    const disable = (n: number) => ({ reason: 'the receiver answered 410 Gone', event: event('endpoint.disabled', `evt_disable_${n}`) });
    await jobs.transaction((tx) =>
      settleAttempts(tx, 'w1', [
        failure(claimed[0]!.id, '2026-01-01T00:00:01Z', { next: { state: 'failed' }, disableEndpoint: disable(1) }),
        failure(claimed[1]!.id, '2026-01-01T00:00:02Z', { next: { state: 'failed' }, disableEndpoint: disable(2) }),
      ]),
    );
    expect(await jobs.endpoints.get(target.id)).toMatchObject({ enabled: false, disabledReason: 'the receiver answered 410 Gone' });
    expect((await deliveriesTo(watcher.id)).map((d) => d.messageId)).toEqual(['evt_disable_1']);
  });

  it('ends a run of failures that began after the claim: the settlement reports it, even outside a transaction', async () => {
    const { target, claimed } = await leased(2);
    // Another worker's failure marks the endpoint failing after these deliveries were claimed.
    await jobs.endpoints.markFailing(target.id, at('2026-01-01T00:00:01Z'));
    const outcomes = [success(claimed[0]!.id, '2026-01-01T00:00:02Z'), success(claimed[1]!.id, '2026-01-01T00:00:03Z')];
    expect(settlementOnly(outcomes)).toBe(true);
    await settleAttempts(jobs, 'w1', outcomes);
    expect((await jobs.endpoints.get(target.id))!.failingSince).toBeNull();
    expect((await jobs.deliveries.countByState()).succeeded).toBe(2);
  });

  it('needs a transaction for anything beyond successes to endpoints that were healthy when claimed', () => {
    expect(settlementOnly([success('d1', '2026-01-01T00:00:01Z'), success('d2', '2026-01-01T00:00:02Z')])).toBe(true);
    expect(settlementOnly([success('d1', '2026-01-01T00:00:01Z'), success('d2', '2026-01-01T00:00:02Z', true)])).toBe(false);
    expect(settlementOnly([success('d1', '2026-01-01T00:00:01Z'), failure('d2', '2026-01-01T00:00:02Z')])).toBe(false);
    expect(settlementOnly([failure('d1', '2026-01-01T00:00:01Z', { next: { state: 'failed' } })])).toBe(false);
  });

  it('records nothing for deliveries whose lease the worker lost', async () => {
    const { target, claimed } = await leased(1, 'someone-else');
    await jobs.transaction((tx) => settleAttempts(tx, 'w1', [failure(claimed[0]!.id, '2026-01-01T00:00:01Z')]));
    expect((await jobs.endpoints.get(target.id))!.failingSince).toBeNull();
    expect((await jobs.deliveries.get(claimed[0]!.id))!.attemptLog).toEqual([]);
  });
});
