import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError, type Account, type AttemptRecord, type JobStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { createWebhookNotifier, type WebhookNotifier } from '@ferry/notifier-webhook';
import { sampleAttempt, sampleDelivery, sampleEvent, sampleImplicitEndpoint } from '@ferry/testing/jobs';
import { WebhookService } from './webhook-service.js';

/*
 * The account's side of docs/webhooks.md: registering endpoints (secrets shown once), changing,
 * disabling and deleting them, the delivery log with replay and recovery, and the event feed, each
 * scoped to one account. A real SQLite job store and the real webhook notifier; deliveries are
 * moved through their states with the store's own claim and settle, as the delivery worker does.
 */

const HOOK = 'http://127.0.0.1:9/hook';
const REFUSED = 'http://10.20.30.40/hook';
const NOW = new Date('2026-02-01T10:00:00Z');
const HOUR = 3_600_000;

let dir: string;
let jobs: JobStore;
let notifier: WebhookNotifier;
let account: Account;
let other: Account;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-webhook-service-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
  account = await jobs.accounts.create({ name: 'tenant', createdAt: new Date() });
  other = await jobs.accounts.create({ name: 'neighbour', createdAt: new Date() });
});

afterEach(async () => {
  await notifier.close();
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

const service = () => new WebhookService({ jobs, notifier, now: () => NOW });

async function failure(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

/** Queue one delivery to `endpointId` and take it through one attempt to `next`, as the worker would. */
async function attempted(acc: Account, endpointId: string, next: 'succeeded' | 'failed' | 'pending', attempt: Partial<AttemptRecord> = {}) {
  const delivery = sampleDelivery(acc.id, endpointId);
  await jobs.deliveries.insert([delivery]);
  if (next === 'pending') return delivery.id;
  const claimed = await jobs.deliveries.claim('w-test', { limit: 100, leaseMs: 60_000, maxInFlightPerEndpoint: 100 });
  expect(claimed.map((d) => d.id)).toContain(delivery.id);
  // Release the others untouched: only this one's attempt is recorded.
  const record = sampleAttempt(new Date('2026-01-31T09:00:00.250Z'), attempt);
  await jobs.deliveries.settle('w-test', [{ deliveryId: delivery.id, attempt: record, next: { state: next } }]);
  return delivery.id;
}

describe('registering endpoints', () => {
  it('stores the endpoint and shows its secret once, with the defaults filled in', async () => {
    const created = await service().createEndpoint(account, { url: HOOK, events: ['export.*'], retryScheduleSeconds: [5, 60, 3600] });
    expect(created.id).toMatch(/^ep_[A-Za-z0-9_-]{22}$/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created).toEqual({
      id: created.id,
      url: HOOK,
      events: ['export.*'],
      scheme: 'standard-webhooks',
      description: null,
      enabled: true,
      disabledReason: null,
      failingSince: null,
      retryScheduleSeconds: [5, 60, 3600],
      createdAt: created.createdAt,
      updatedAt: created.updatedAt,
      secret: created.secret,
    });
    expect(await jobs.endpoints.get(created.id)).toMatchObject({
      accountId: account.id,
      registered: true,
      secrets: [{ value: created.secret, expiresAt: null }],
      scheduleMs: [5_000, 60_000, 3_600_000],
    });
    const { secret: _secret, ...view } = created;
    expect(await service().getEndpoint(account, created.id)).toEqual(view);
  });

  it('keeps a chosen scheme and description, and no retry schedule of its own', async () => {
    const created = await service().createEndpoint(account, { url: HOOK, events: ['*'], scheme: 'secret-header', description: 'billing' });
    expect(created).toMatchObject({ scheme: 'secret-header', description: 'billing', retryScheduleSeconds: null });
    expect((await jobs.endpoints.get(created.id))?.scheduleMs).toBeNull();
  });

  it('refuses a target the notifier will not call, a bad body and the export-only scheme, storing nothing', async () => {
    expect(await failure(service().createEndpoint(account, { url: REFUSED, events: ['*'] }))).toMatchObject({ code: 'INVALID_WEBHOOK_URL', path: ['url'] });
    expect(await failure(service().createEndpoint(account, { url: HOOK }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['events'] });
    expect(await failure(service().createEndpoint(account, { url: HOOK, events: ['*'], scheme: 'ferry-hmac' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['scheme'] });
    expect(await jobs.endpoints.listRegistered(account.id)).toEqual([]);
  });

  it('lists only the account’s own registered endpoints, never an export’s implicit one', async () => {
    const mine = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    await service().createEndpoint(other, { url: HOOK, events: ['*'] });
    const implicit = sampleImplicitEndpoint(account.id);
    await jobs.endpoints.insert(implicit);
    expect((await service().listEndpoints(account)).data.map((e) => e.id)).toEqual([mine.id]);
    expect(await failure(service().getEndpoint(account, implicit.id))).toMatchObject({ code: 'NOT_FOUND', message: `no endpoint ${implicit.id}` });
    expect(await failure(service().getEndpoint(other, mine.id))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await failure(service().getEndpoint(account, 'ep_missing'))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('changing endpoints', () => {
  it('changes only the fields sent', async () => {
    const created = await service().createEndpoint(account, { url: HOOK, events: ['*'], description: 'first', retryScheduleSeconds: [1] });
    const updated = await service().updateEndpoint(account, created.id, { events: ['export.failed'] });
    expect(updated).toMatchObject({ url: HOOK, events: ['export.failed'], description: 'first', retryScheduleSeconds: [1], enabled: true });
    const moved = await service().updateEndpoint(account, created.id, { url: 'http://127.0.0.1:9/moved', description: null, retryScheduleSeconds: null });
    expect(moved).toMatchObject({ url: 'http://127.0.0.1:9/moved', events: ['export.failed'], description: null, retryScheduleSeconds: null });
    expect(await jobs.endpoints.get(created.id)).toMatchObject({ scheduleMs: null, secrets: [{ value: created.secret, expiresAt: null }] });
    const rescheduled = await service().updateEndpoint(account, created.id, { retryScheduleSeconds: [2, 30] });
    expect(rescheduled.retryScheduleSeconds).toEqual([2, 30]);
    expect((await jobs.endpoints.get(created.id))?.scheduleMs).toEqual([2_000, 30_000]);
  });

  it('says who disabled an endpoint, and enabling it by hand ends its run of failures', async () => {
    const created = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    const disabled = await service().updateEndpoint(account, created.id, { enabled: false });
    expect(disabled).toMatchObject({ enabled: false, disabledReason: 'disabled by the account' });
    await jobs.endpoints.markFailing(created.id, new Date('2026-01-30T00:00:00Z'));
    expect((await service().getEndpoint(account, created.id)).failingSince).toBe('2026-01-30T00:00:00.000Z');
    // Disabling again keeps the failure run: only enabling ends it.
    expect((await service().updateEndpoint(account, created.id, { enabled: false })).failingSince).toBe('2026-01-30T00:00:00.000Z');
    const enabled = await service().updateEndpoint(account, created.id, { enabled: true });
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
  });

  it('checks a new URL and refuses other accounts’ endpoints and bad bodies', async () => {
    const created = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    expect(await failure(service().updateEndpoint(account, created.id, { url: REFUSED }))).toMatchObject({ code: 'INVALID_WEBHOOK_URL', path: ['url'] });
    expect(await failure(service().updateEndpoint(other, created.id, { enabled: false }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await failure(service().updateEndpoint(account, created.id, { colour: 'red' }))).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await service().getEndpoint(account, created.id)).toMatchObject({ url: HOOK, enabled: true });
  });

  it('rotates the secret: the new one signs from now, the old one for 24 more hours', async () => {
    const created = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    const rotated = await service().rotateSecret(account, created.id);
    expect(rotated).toEqual({ id: created.id, secret: rotated.secret, previousSecretExpiresAt: '2026-02-02T10:00:00.000Z' });
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
    const stored = await jobs.endpoints.get(created.id);
    expect(stored?.secrets).toEqual([
      { value: rotated.secret, expiresAt: null },
      { value: created.secret, expiresAt: new Date(NOW.getTime() + 24 * HOUR) },
    ]);
    expect(stored?.updatedAt).toEqual(NOW);
    expect(await failure(service().rotateSecret(other, created.id))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deletes an endpoint, failing what was still pending for it and keeping what was delivered', async () => {
    const created = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    const done = await attempted(account, created.id, 'succeeded', { status: 204, error: null });
    const waiting = await attempted(account, created.id, 'pending');
    expect(await failure(service().deleteEndpoint(other, created.id))).toMatchObject({ code: 'NOT_FOUND' });
    await service().deleteEndpoint(account, created.id);
    expect(await jobs.endpoints.get(created.id)).toBeNull();
    expect(await jobs.deliveries.get(waiting)).toMatchObject({ state: 'failed', lastError: 'endpoint deleted' });
    expect(await jobs.deliveries.get(done)).toMatchObject({ state: 'succeeded' });
    expect(await failure(service().deleteEndpoint(account, created.id))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('the delivery log', () => {
  it('shows a delivery with its attempts, numbered, and when the next one is due only while pending', async () => {
    const ep = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    const failed = await attempted(account, ep.id, 'failed');
    const pending = await attempted(account, ep.id, 'pending');
    const shown = await service().getDelivery(account, failed);
    const stored = (await jobs.deliveries.get(failed))!;
    expect(shown).toEqual({
      id: failed,
      webhookId: stored.messageId,
      endpointId: ep.id,
      url: HOOK,
      event: 'export.completed',
      exportId: null,
      state: 'failed',
      attempts: 1,
      nextAttemptAt: null,
      lastStatus: 500,
      lastError: 'HTTP 500',
      createdAt: stored.createdAt.toISOString(),
      attemptLog: [{ n: 1, at: '2026-01-31T09:00:00.250Z', durationMs: 12, status: 500, error: 'HTTP 500', responseBody: 'upstream "broke"' }],
    });
    const waiting = await service().getDelivery(account, pending);
    expect(waiting).toMatchObject({ state: 'pending', attempts: 0, lastStatus: null, attemptLog: [] });
    expect(waiting.nextAttemptAt).toBe((await jobs.deliveries.get(pending))!.nextAttemptAt.toISOString());
    expect(await failure(service().getDelivery(other, failed))).toMatchObject({ code: 'NOT_FOUND', message: `no delivery ${failed}` });
    expect(await failure(service().getDelivery(account, 'msg_missing'))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('lists deliveries oldest first, filtered by state and endpoint, in pages', async () => {
    const a = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    const b = await service().createEndpoint(account, { url: 'http://127.0.0.1:9/b', events: ['*'] });
    const ids = [await attempted(account, a.id, 'failed'), await attempted(account, b.id, 'succeeded'), await attempted(account, a.id, 'pending')];
    await attempted(other, (await service().createEndpoint(other, { url: HOOK, events: ['*'] })).id, 'pending');
    const s = service();
    const all = await s.listDeliveries(account, {});
    expect(all.data.map((d) => d.id)).toEqual(ids);
    expect(all.hasMore).toBe(false);
    expect(all.data.map((d) => [d.state, d.nextAttemptAt === null])).toEqual([
      ['failed', true],
      ['succeeded', true],
      ['pending', false],
    ]);
    expect((await s.listDeliveries(account, { status: 'failed' })).data.map((d) => d.id)).toEqual([ids[0]]);
    expect((await s.listDeliveries(account, { endpoint: a.id })).data.map((d) => d.id)).toEqual([ids[0], ids[2]]);
    expect((await s.listDeliveries(account, { endpoint: a.id, status: 'pending' })).data.map((d) => d.id)).toEqual([ids[2]]);
    const first = await s.listDeliveries(account, { limit: '2' });
    expect(first.data.map((d) => d.id)).toEqual(ids.slice(0, 2));
    expect(first.hasMore).toBe(true);
    const next = await s.listDeliveries(account, { limit: '2', starting_after: ids[1] });
    expect(next.data.map((d) => d.id)).toEqual([ids[2]]);
    expect(next.hasMore).toBe(false);
    expect((await s.listDeliveries(account, { since: '2999-01-01T00:00:00Z' })).data).toEqual([]);
    expect((await s.listDeliveries(account, { since: '2000-01-01T00:00:00Z' })).data).toHaveLength(3);
  });

  it('refuses a page cursor that is not one of the account’s deliveries', async () => {
    const mine = await service().createEndpoint(other, { url: HOOK, events: ['*'] });
    const theirs = await attempted(other, mine.id, 'pending');
    for (const cursor of [theirs, 'msg_never']) {
      const err = await failure(service().listDeliveries(account, { starting_after: cursor }));
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'starting_after'] });
      expect(err.message).toBe(`starting_after "${cursor}" is not one of your items (it may have been purged); start without it`);
    }
    expect(await failure(service().listDeliveries(account, { limit: '0' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'limit'] });
  });

  it('redelivers a delivery from the start of its schedule, and refuses another account’s', async () => {
    const ep = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    const failed = await attempted(account, ep.id, 'failed');
    expect(await failure(service().redeliver(other, failed))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await jobs.deliveries.get(failed))?.state).toBe('failed');
    const again = await service().redeliver(account, failed);
    expect(again).toMatchObject({ id: failed, state: 'pending', attemptLog: [{ n: 1, status: 500 }] });
    expect(again.nextAttemptAt).toBe((await jobs.deliveries.get(failed))!.nextAttemptAt.toISOString());
  });

  it('recovers every failed delivery since a time, and counts deliveries by state', async () => {
    const ep = await service().createEndpoint(account, { url: HOOK, events: ['*'] });
    await attempted(account, ep.id, 'failed');
    await attempted(account, ep.id, 'failed');
    await attempted(account, ep.id, 'succeeded', { status: 200, error: null });
    const theirs = await service().createEndpoint(other, { url: HOOK, events: ['*'] });
    await attempted(other, theirs.id, 'failed');
    expect(await service().counts(account)).toEqual({ pending: 0, succeeded: 1, failed: 2 });
    expect(await service().recover(account, { since: '2999-01-01T00:00:00Z' })).toEqual({ recovered: 0 });
    expect(await service().recover(account, { since: '2000-01-01T00:00:00Z' })).toEqual({ recovered: 2 });
    expect(await service().counts(account)).toEqual({ pending: 2, succeeded: 1, failed: 0 });
    expect(await service().counts(other)).toEqual({ pending: 0, succeeded: 0, failed: 1 });
    expect(await failure(service().recover(account, { since: 'yesterday' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['since'] });
    expect(await failure(service().recover(account, {}))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['since'] });
  });
});

describe('the event feed', () => {
  it('returns each event’s envelope exactly as sent, oldest first, filtered and in pages', async () => {
    const t = (min: number) => new Date(Date.UTC(2026, 0, 1, 12, min));
    const events = [
      sampleEvent(account.id, { type: 'export.requested', created: t(0) }),
      sampleEvent(account.id, { type: 'export.completed', created: t(1) }),
      sampleEvent(account.id, { type: 'dataset.version.published', created: t(2) }),
      sampleEvent(other.id, { type: 'export.completed', created: t(3) }),
    ];
    await jobs.events.insert(events);
    const s = service();
    const all = await s.listEvents(account, {});
    expect(all.data).toEqual(events.slice(0, 3).map((e) => JSON.parse(e.body) as unknown));
    expect(all.hasMore).toBe(false);
    expect((await s.listEvents(account, { type: 'export.*' })).data).toHaveLength(2);
    expect((await s.listEvents(account, { since: t(1).toISOString() })).data).toHaveLength(2);
    const page = await s.listEvents(account, { limit: '2' });
    expect(page.hasMore).toBe(true);
    const rest = await s.listEvents(account, { limit: '2', starting_after: events[1]!.id });
    expect(rest.data).toEqual([JSON.parse(events[2]!.body) as unknown]);
    expect(rest.hasMore).toBe(false);
    expect(await failure(s.listEvents(account, { starting_after: events[3]!.id }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'starting_after'] });
    expect(await failure(s.listEvents(account, { starting_after: 'evt_never' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'starting_after'] });
  });
});
