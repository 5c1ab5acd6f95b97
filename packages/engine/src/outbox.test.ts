import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Account, JobStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { sampleDelivery, sampleEndpoint, sampleEvent, sampleImplicitEndpoint } from '@ferry/testing/jobs';
import { recordEvents } from './outbox.js';

/*
 * The outbox promise of docs/webhooks.md: an event reaches every endpoint subscribed to it exactly
 * once, and only if the change that announced it commits. Against a real SQLite job store.
 */

let dir: string;
let jobs: JobStore;
let account: Account;
let other: Account;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-outbox-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  account = await jobs.accounts.create({ name: 'outbox', createdAt: new Date() });
  other = await jobs.accounts.create({ name: 'neighbour', createdAt: new Date() });
});

afterEach(async () => {
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

async function deliveriesOf(acc: Account) {
  return jobs.deliveries.list(acc.id, { limit: 100 });
}

describe('recordEvents', () => {
  it('queues one delivery per subscribed endpoint, carrying the event, and none for other types or accounts', async () => {
    const all = sampleEndpoint(account.id, { events: ['*'] });
    const exports = sampleEndpoint(account.id, { events: ['export.*'] });
    const failedOnly = sampleEndpoint(account.id, { events: ['export.failed'] });
    const implicit = sampleImplicitEndpoint(account.id);
    const neighbours = sampleEndpoint(other.id, { events: ['*'] });
    for (const e of [all, exports, failedOnly, implicit, neighbours]) await jobs.endpoints.insert(e);

    const completed = sampleEvent(account.id, { type: 'export.completed' });
    const published = sampleEvent(account.id, { type: 'dataset.version.published' });
    await jobs.transaction((tx) => recordEvents(tx, [completed, published]));

    const queued = await deliveriesOf(account);
    const pairs = queued.map((d) => `${d.endpointId} ${d.messageId}`).sort();
    expect(pairs).toEqual([`${all.id} ${completed.id}`, `${all.id} ${published.id}`, `${exports.id} ${completed.id}`].sort());
    const toExports = queued.find((d) => d.endpointId === exports.id)!;
    expect(toExports).toMatchObject({ accountId: account.id, messageId: completed.id, eventType: 'export.completed', exportId: null });
    expect((await jobs.deliveries.get(toExports.id))?.body).toBe(completed.body);
    expect(await deliveriesOf(other)).toEqual([]);
  });

  it('does not fan out an event id a second time, as when a transition is retried', async () => {
    const endpoint = sampleEndpoint(account.id, { events: ['*'] });
    await jobs.endpoints.insert(endpoint);
    const event = sampleEvent(account.id);
    await jobs.transaction((tx) => recordEvents(tx, [event]));
    await jobs.transaction((tx) => recordEvents(tx, [event]));
    expect(await deliveriesOf(account)).toHaveLength(1);
  });

  it('stores neither the event nor its deliveries when the caller’s transaction rolls back', async () => {
    await jobs.endpoints.insert(sampleEndpoint(account.id, { events: ['*'] }));
    const event = sampleEvent(account.id);
    await expect(
      jobs.transaction(async (tx) => {
        await recordEvents(tx, [event]);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await jobs.events.list(account.id, { limit: 10 })).toEqual([]);
    expect(await deliveriesOf(account)).toEqual([]);
  });

  it('commits an export’s own webhook with the event that announces it, or on its own when there is no event', async () => {
    const implicit = sampleImplicitEndpoint(account.id);
    await jobs.endpoints.insert(implicit);
    const completion = sampleDelivery(account.id, implicit.id);
    const failure = sampleDelivery(account.id, implicit.id);
    await jobs.transaction((tx) => recordEvents(tx, [sampleEvent(account.id)], [completion]));
    await jobs.transaction((tx) => recordEvents(tx, [], [failure]));
    expect((await deliveriesOf(account)).map((d) => d.id).sort()).toEqual([completion.id, failure.id].sort());
  });

  it('looks subscribers up per account when one call records events of several accounts', async () => {
    const mine = sampleEndpoint(account.id, { events: ['*'] });
    const theirs = sampleEndpoint(other.id, { events: ['*'] });
    await jobs.endpoints.insert(mine);
    await jobs.endpoints.insert(theirs);
    await jobs.transaction((tx) => recordEvents(tx, [sampleEvent(account.id), sampleEvent(other.id), sampleEvent(account.id)]));
    expect((await deliveriesOf(account)).map((d) => d.endpointId)).toEqual([mine.id, mine.id]);
    expect((await deliveriesOf(other)).map((d) => d.endpointId)).toEqual([theirs.id]);
  });
});
