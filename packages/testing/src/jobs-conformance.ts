import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Endpoint, ExportResult, JobStore, NewDelivery, NewEvent, NewExportJob } from '@ferry/core';

export interface JobStoreConformanceOptions {
  name: string;
  /**
   * Open the store on storage `location` (a fresh location per test comes from `newLocation`).
   * Opening the same location twice must see the same data: that is what a restart is.
   */
  open: (location: string) => Promise<JobStore>;
  newLocation: () => Promise<string>;
  additionalTests?: () => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function sampleExport(accountId: number, overrides: Partial<NewExportJob> = {}): NewExportJob {
  return {
    id: randomUUID(),
    accountId,
    name: 'Seattle Rental Data',
    format: 'csv',
    compression: 'gzip',
    webhookUrl: 'https://hooks.example.com/ferry',
    endpointId: 'ep_unset',
    datasetKey: 'rentals',
    query: { scopes: [{ column: 'msa' }], filters: [{ column: 'msa', filter: { equals: "O'Hare \"quoted\"" } }] },
    hmacSignature: 'a'.repeat(64),
    requestedAt: new Date(),
    notifyOnFailure: false,
    split: null,
    ...overrides,
  };
}

function sampleResult(): ExportResult {
  const finishedAt = new Date();
  return {
    files: [{ objectKey: 'x/file.csv.gz', contentType: 'application/gzip', fileName: 'file.csv.gz', rows: 12, bytes: 345, sha256: 'b'.repeat(64) }],
    manifest: null,
    numberRows: 12,
    bytes: 345,
    timeTakenMs: 10,
    finishedAt,
    expiresAt: new Date(finishedAt.getTime() + 30 * 86_400_000),
    pushdown: false,
  };
}

function delivery(accountId: number, exportId: string | null, endpointId: string): NewDelivery {
  const id = `msg_${randomUUID()}`;
  return {
    id,
    accountId,
    endpointId,
    messageId: id,
    exportId,
    eventType: 'export.completed',
    body: '{"hello":"world"}',
    headers: { 'SHA256-HMAC-Signature': 'c'.repeat(64) },
  };
}

function event(accountId: number, type: string, exportId: string | null = null): NewEvent {
  const id = `evt_${randomUUID().replaceAll('-', '')}`;
  return { id, accountId, type, created: new Date(), exportId, body: JSON.stringify({ type, id }) };
}

async function implicit(store: JobStore, accountId: number): Promise<Endpoint> {
  return store.ensureImplicitEndpoint(accountId, 'https://hooks.example.com/ferry', 'ferry-hmac', () => null);
}

async function registered(store: JobStore, accountId: number, events: string[]): Promise<Endpoint> {
  return store.createEndpoint({
    id: `ep_${randomUUID()}`,
    accountId,
    url: 'https://hooks.example.com/events',
    scheme: 'standard-webhooks',
    secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
    events,
    description: 'test',
    registered: true,
    scheduleMs: null,
  });
}

/** Runs a test body against a store opened on a fresh location, and closes it afterwards. */
export function storeRunner(options: Pick<JobStoreConformanceOptions, 'open' | 'newLocation'>) {
  return async (fn: (store: JobStore, location: string) => Promise<void>): Promise<void> => {
    const location = await options.newLocation();
    const store = await options.open(location);
    try {
      await fn(store, location);
    } finally {
      await store.close();
    }
  };
}

/** The contract every JobStore meets: durable, lease-based, and transactional where it says so. */
export function describeJobStoreConformance(options: JobStoreConformanceOptions): void {
  describe(`jobs conformance: ${options.name}`, () => {
    const withStore = storeRunner(options);

    it('registers API keys idempotently and finds accounts by key hash', () =>
      withStore(async (store) => {
        expect(await store.countApiKeys()).toBe(0);
        const a = await store.registerApiKey('hash-1');
        expect(await store.registerApiKey('hash-1')).toEqual(a);
        expect(await store.findAccountByKeyHash('hash-1')).toEqual(a);
        expect(await store.findAccountByKeyHash('nope')).toBeNull();
        expect(await store.countApiKeys()).toBe(1);
        const other = await store.createAccount();
        expect(other.id).not.toBe(a.id);
        expect(await store.registerApiKey('hash-2', other)).toEqual(other);
        expect(await store.registerApiKey('hash-3')).toEqual(a);
        expect(await store.findAccountByKeyHash('hash-2')).toEqual(other);
      }));

    it('keeps the first value of a setting', () =>
      withStore(async (store) => {
        expect(await store.getOrCreateSetting('s', () => 'one')).toBe('one');
        expect(await store.getOrCreateSetting('s', () => 'two')).toBe('one');
      }));

    it('round-trips an export, the submitted query untouched', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = sampleExport(id);
        const stored = await store.enqueueExport(job, []);
        expect(stored).toMatchObject({ ...job, state: 'queued', attempts: 0, result: null, startedAt: null });
        expect(JSON.stringify((await store.getExport(job.id))!.query)).toBe(JSON.stringify(job.query));
        expect(await store.getExport(randomUUID())).toBeNull();
      }));

    it('claims the oldest export once, and again only after its lease runs out', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const first = await store.enqueueExport(sampleExport(id, { requestedAt: new Date(Date.now() - 1000) }), []);
        await store.enqueueExport(sampleExport(id), []);
        const claimed = await store.claimExport('w1', 150);
        expect(claimed).toMatchObject({ id: first.id, state: 'running', attempts: 1 });
        const second = await store.claimExport('w2', 150);
        expect(second?.id).not.toBe(first.id);
        expect(await store.claimExport('w3', 150)).toBeNull();
        await sleep(200);
        const reclaimed = await store.claimExport('w3', 10_000);
        expect(reclaimed?.attempts).toBe(2);
        expect(await store.heartbeatExport(reclaimed!.id, reclaimed!.id === first.id ? 'w1' : 'w2', 1000, { rows: 1, bytes: 1 })).toBe(false);
        expect(await store.heartbeatExport(reclaimed!.id, 'w3', 1000, { rows: 10, bytes: 20 })).toBe(true);
        expect(await store.getExport(reclaimed!.id)).toMatchObject({ progressRows: 10, progressBytes: 20 });
      }));

    it('completes an export and queues its delivery in one step; a lost lease completes nothing', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = await store.enqueueExport(sampleExport(id), []);
        await store.claimExport('w1', 10_000);
        const ep = await implicit(store, id);
        const lost = delivery(id, job.id, ep.id);
        expect(await store.completeExport(job.id, 'someone-else', sampleResult(), [lost], [])).toBe(false);
        expect(await store.getDelivery(lost.id)).toBeNull();
        const d = delivery(id, job.id, ep.id);
        const result = sampleResult();
        expect(await store.completeExport(job.id, 'w1', result, [d], [])).toBe(true);
        const done = await store.getExport(job.id);
        expect(done).toMatchObject({ state: 'completed', result, progressRows: 12 });
        expect(await store.getDelivery(d.id)).toMatchObject({ ...d, url: ep.url, state: 'pending', attempts: 0, attemptLog: [] });
      }));

    it('requeues a failed attempt for later, fails for good without retryAt, and releases on shutdown', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = await store.enqueueExport(sampleExport(id), []);
        await store.claimExport('w1', 10_000);
        await store.failExport(job.id, 'w1', 'source down', { retryAt: new Date(Date.now() + 60_000) });
        expect(await store.getExport(job.id)).toMatchObject({ state: 'queued', error: 'source down' });
        expect(await store.claimExport('w1', 10_000)).toBeNull();

        const other = await store.enqueueExport(sampleExport(id), []);
        await store.claimExport('w1', 10_000);
        await store.releaseExport(other.id, 'w1');
        expect(await store.getExport(other.id)).toMatchObject({ state: 'queued', attempts: 0 });
        await store.claimExport('w1', 10_000);
        await store.failExport(other.id, 'w1', 'bad query', { events: [] });
        expect(await store.getExport(other.id)).toMatchObject({ state: 'failed', error: 'bad query' });
      }));

    it('leases deliveries, logs every attempt and schedules the next', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = await store.enqueueExport(sampleExport(id), []);
        await store.claimExport('w1', 10_000);
        const ep = await implicit(store, id);
        const d = delivery(id, job.id, ep.id);
        await store.completeExport(job.id, 'w1', sampleResult(), [d], []);
        const [claimed] = await store.claimDeliveries('d1', 10, 10_000);
        expect(claimed).toMatchObject({ id: d.id, retryIndex: 0, endpoint: { id: ep.id, scheme: 'ferry-hmac', enabled: true } });
        expect(await store.claimDeliveries('d2', 10, 10_000)).toEqual([]);
        const attempt = { at: new Date(), durationMs: 12, status: 500, error: 'HTTP 500', responseBody: 'oops' };
        await store.recordAttempts('d1', [{ deliveryId: d.id, attempt, next: { state: 'pending', nextAttemptAt: new Date(Date.now() + 60_000) } }]);
        expect(await store.claimDeliveries('d2', 10, 10_000)).toEqual([]);
        const logged = await store.getDelivery(d.id);
        expect(logged).toMatchObject({ state: 'pending', attempts: 1, lastError: 'HTTP 500', lastStatus: 500, attemptLog: [attempt] });
        expect((await store.getEndpoint(ep.id))?.failingSince).toEqual(attempt.at);
        // A lost lease records nothing.
        await store.recordAttempts('d1', [{ deliveryId: d.id, attempt, next: { state: 'succeeded' } }]);
        expect((await store.getDelivery(d.id))?.attempts).toBe(1);
        // Redelivery keeps the id and starts the schedule over.
        expect(await store.redeliver(d.id)).toBe(true);
        const [again] = await store.claimDeliveries('d3', 10, 10_000);
        expect(again).toMatchObject({ id: d.id, messageId: d.messageId, retryIndex: 0, attempts: 1 });
        await store.recordAttempts('d3', [{ deliveryId: d.id, attempt: { ...attempt, status: 200, error: null }, next: { state: 'succeeded' } }]);
        expect(await store.getDelivery(d.id)).toMatchObject({ state: 'succeeded', attempts: 2 });
        expect((await store.getEndpoint(ep.id))?.failingSince).toBeNull();
        expect(await store.deliveryCounts(id)).toEqual({ pending: 0, succeeded: 1, failed: 0 });
      }));

    it('keeps everything across a restart: a queued export is claimable after reopening', async () => {
      const location = await options.newLocation();
      const first = await options.open(location);
      const { id } = await first.registerApiKey('k');
      const job = await first.enqueueExport(sampleExport(id), []);
      const running = await first.enqueueExport(sampleExport(id, { requestedAt: new Date(Date.now() + 1) }), []);
      await first.claimExport('dead-worker', 100);
      await first.close();
      await sleep(150);
      const second = await options.open(location);
      try {
        expect(await second.findAccountByKeyHash('k')).toEqual({ id });
        const a = await second.claimExport('w', 10_000);
        const b = await second.claimExport('w', 10_000);
        expect(new Set([a?.id, b?.id])).toEqual(new Set([job.id, running.id]));
      } finally {
        await second.close();
      }
    });

    it('cancels a queued or running export once, taking the lease from its worker', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const queued = await store.enqueueExport(sampleExport(id), []);
        expect(await store.cancelExport(queued.id, 'cancelled by request', [event(id, 'export.failed', queued.id)])).toBe(true);
        expect(await store.getExport(queued.id)).toMatchObject({ state: 'failed', error: 'cancelled by request' });
        expect(await store.cancelExport(queued.id, 'again', [])).toBe(false);
        expect(await store.claimExport('w', 10_000)).toBeNull();
        const running = await store.enqueueExport(sampleExport(id), []);
        await store.claimExport('w', 10_000);
        expect(await store.cancelExport(running.id, 'cancelled by request', [])).toBe(true);
        expect(await store.heartbeatExport(running.id, 'w', 10_000, { rows: 1, bytes: 1 })).toBe(false);
        expect(await store.completeExport(running.id, 'w', sampleResult(), [], [])).toBe(false);
        expect((await store.listEvents(id, { limit: 10, type: 'export.failed' })).length).toBe(1);
      }));

    it('records downloads', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = await store.enqueueExport(sampleExport(id), []);
        await store.recordDownload({ exportId: job.id, at: new Date(), bytes: 10, client: '127.0.0.1', range: null }, [event(id, 'export.downloaded', job.id)]);
        expect((await store.listEvents(id, { limit: 10 })).map((e) => e.type)).toEqual(['export.downloaded']);
        expect((await store.getExport(job.id))?.downloads).toBe(1);
      }));

    it('fans events out to subscribed endpoints in the transaction that records them, once per event id', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const all = await registered(store, id, ['export.*']);
        const completedOnly = await registered(store, id, ['export.completed']);
        const disabled = await registered(store, id, ['*']);
        await store.updateEndpoint(disabled.id, { enabled: false });
        const other = await store.createAccount();
        await registered(store, other.id, ['*']);
        const requested = event(id, 'export.requested');
        const job = await store.enqueueExport(sampleExport(id), [requested]);
        await store.emitEvents([requested]); // the same id again: no second fan-out
        await store.claimExport('w', 10_000);
        const completed = event(id, 'export.completed', job.id);
        await store.completeExport(job.id, 'w', sampleResult(), [], [completed]);
        const deliveries = await store.listDeliveries(id, { limit: 50 });
        const to = (ep: Endpoint) => deliveries.filter((d) => d.endpointId === ep.id).map((d) => d.messageId);
        expect(to(all)).toEqual([requested.id, completed.id]);
        expect(to(completedOnly)).toEqual([completed.id]);
        expect(to(disabled)).toEqual([]);
        expect(deliveries.every((d) => d.accountId === id)).toBe(true);
        expect(deliveries.find((d) => d.messageId === completed.id)?.body).toBe(completed.body);
        const events = await store.listEvents(id, { limit: 10 });
        expect(events.map((e) => e.id)).toEqual([requested.id, completed.id]);
        expect(await store.listEvents(id, { limit: 10, startingAfter: requested.id })).toEqual([events[1]]);
        expect(await store.listEvents(id, { limit: 10, type: 'export.*' })).toHaveLength(2);
        expect(await store.listEvents(id, { limit: 10, type: 'export.completed' })).toEqual([events[1]]);
        expect(await store.listEvents(other.id, { limit: 10 })).toEqual([]);
        expect(await store.listDeliveries(id, { limit: 1, startingAfter: deliveries[0]!.id })).toEqual([deliveries[1]]);
      }));

    it('keeps one implicit endpoint per account, URL and scheme, and re-enables it on reuse', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const a = await store.ensureImplicitEndpoint(id, 'https://a.example.com/h', 'standard-webhooks', () => 'whsec_one');
        const b = await store.ensureImplicitEndpoint(id, 'https://a.example.com/h', 'standard-webhooks', () => 'whsec_two');
        expect(b.id).toBe(a.id);
        expect(b.secrets.map((s) => s.value)).toEqual(['whsec_one']);
        expect(await store.listEndpoints(id)).toEqual([]);
        await store.updateEndpoint(a.id, { enabled: false });
        expect((await store.ensureImplicitEndpoint(id, 'https://a.example.com/h', 'standard-webhooks', () => null)).enabled).toBe(true);
      }));

    it('disables an endpoint once, recording endpoint.disabled once', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const watcher = await registered(store, id, ['endpoint.disabled']);
        const ep = await implicit(store, id);
        const job = await store.enqueueExport(sampleExport(id), []);
        await store.claimExport('w', 10_000);
        const [d1, d2] = [delivery(id, job.id, ep.id), delivery(id, job.id, ep.id)];
        await store.completeExport(job.id, 'w', sampleResult(), [d1, d2], []);
        const claimed = await store.claimDeliveries('d', 10, 10_000);
        expect(claimed).toHaveLength(2);
        const gone = { at: new Date(), durationMs: 1, status: 410, error: 'HTTP 410', responseBody: null };
        await store.recordAttempts(
          'd',
          [d1, d2].map((d) => ({
            deliveryId: d.id,
            attempt: gone,
            next: { state: 'failed' as const },
            disableEndpoint: { reason: 'receiver answered 410 Gone', event: event(id, 'endpoint.disabled') },
          })),
        );
        expect(await store.getEndpoint(ep.id)).toMatchObject({ enabled: false, disabledReason: 'receiver answered 410 Gone' });
        expect((await store.listEvents(id, { limit: 10, type: 'endpoint.disabled' })).length).toBe(1);
        expect((await store.listDeliveries(id, { limit: 10, endpointId: watcher.id })).length).toBe(1);
        expect(await store.recoverDeliveries(id, new Date(0))).toBe(2);
        expect(await store.deliveryCounts(id)).toMatchObject({ pending: 3, failed: 0 });
      }));

    it('rotates secrets: the new one first, the old one until its grace period ends', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const ep = await registered(store, id, ['*']);
        const rotated = await store.rotateEndpointSecret(ep.id, 'whsec_new', new Date(Date.now() + 150));
        expect(rotated?.secrets.map((s) => s.value)).toEqual(['whsec_new', ep.secrets[0]!.value]);
        await sleep(200);
        expect((await store.getEndpoint(ep.id))?.secrets.map((s) => s.value)).toEqual(['whsec_new']);
        expect(await store.updateEndpoint(ep.id, { url: 'https://b.example.com/x', events: ['export.failed'] })).toMatchObject({
          url: 'https://b.example.com/x',
          events: ['export.failed'],
        });
        expect(await store.deleteEndpoint(ep.id)).toBe(true);
        expect(await store.getEndpoint(ep.id)).toBeNull();
        expect(await store.deleteEndpoint(ep.id)).toBe(false);
      }));

    options.additionalTests?.();
  });
}
