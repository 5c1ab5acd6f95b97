import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ExportResult, JobStore, NewDelivery, NewExportJob } from '@ferry/core';

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
    webhookUrl: 'https://hooks.example.com/ferry',
    datasetKey: 'rentals',
    query: { scopes: [{ column: 'msa' }], filters: [{ column: 'msa', filter: { equals: "O'Hare \"quoted\"" } }] },
    hmacSignature: 'a'.repeat(64),
    requestedAt: new Date(),
    ...overrides,
  };
}

function sampleResult(): ExportResult {
  const finishedAt = new Date();
  return {
    objectKey: 'x/file.csv.gz',
    contentType: 'application/gzip',
    fileName: 'file.csv.gz',
    numberRows: 12,
    bytes: 345,
    sha256: 'b'.repeat(64),
    timeTakenMs: 10,
    finishedAt,
    expiresAt: new Date(finishedAt.getTime() + 30 * 86_400_000),
  };
}

function delivery(accountId: number, exportId: string | null): NewDelivery {
  return {
    id: `msg_${randomUUID()}`,
    accountId,
    exportId,
    eventType: 'export.completed',
    url: 'https://hooks.example.com/ferry',
    body: '{"hello":"world"}',
    headers: { 'SHA256-HMAC-Signature': 'c'.repeat(64) },
  };
}

/** The contract every JobStore meets: durable, lease-based, and transactional where it says so. */
export function describeJobStoreConformance(options: JobStoreConformanceOptions): void {
  describe(`jobs conformance: ${options.name}`, () => {
    const withStore = async (fn: (store: JobStore, location: string) => Promise<void>) => {
      const location = await options.newLocation();
      const store = await options.open(location);
      try {
        await fn(store, location);
      } finally {
        await store.close();
      }
    };

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
        const stored = await store.enqueueExport(job);
        expect(stored).toMatchObject({ ...job, state: 'queued', attempts: 0, result: null, startedAt: null });
        expect(JSON.stringify((await store.getExport(job.id))!.query)).toBe(JSON.stringify(job.query));
        expect(await store.getExport(randomUUID())).toBeNull();
      }));

    it('claims the oldest export once, and again only after its lease runs out', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const first = await store.enqueueExport(sampleExport(id, { requestedAt: new Date(Date.now() - 1000) }));
        await store.enqueueExport(sampleExport(id));
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
        const job = await store.enqueueExport(sampleExport(id));
        await store.claimExport('w1', 10_000);
        const lost = delivery(id, job.id);
        expect(await store.completeExport(job.id, 'someone-else', sampleResult(), [lost])).toBe(false);
        expect(await store.getDelivery(lost.id)).toBeNull();
        const d = delivery(id, job.id);
        const result = sampleResult();
        expect(await store.completeExport(job.id, 'w1', result, [d])).toBe(true);
        const done = await store.getExport(job.id);
        expect(done).toMatchObject({ state: 'completed', result, progressRows: 12 });
        expect(await store.getDelivery(d.id)).toMatchObject({ ...d, state: 'pending', attempts: 0, attemptLog: [] });
      }));

    it('requeues a failed attempt for later, fails for good without retryAt, and releases on shutdown', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = await store.enqueueExport(sampleExport(id));
        await store.claimExport('w1', 10_000);
        await store.failExport(job.id, 'w1', 'source down', new Date(Date.now() + 60_000));
        expect(await store.getExport(job.id)).toMatchObject({ state: 'queued', error: 'source down' });
        expect(await store.claimExport('w1', 10_000)).toBeNull();

        const other = await store.enqueueExport(sampleExport(id));
        await store.claimExport('w1', 10_000);
        await store.releaseExport(other.id, 'w1');
        expect(await store.getExport(other.id)).toMatchObject({ state: 'queued', attempts: 0 });
        await store.claimExport('w1', 10_000);
        await store.failExport(other.id, 'w1', 'bad query');
        expect(await store.getExport(other.id)).toMatchObject({ state: 'failed', error: 'bad query' });
      }));

    it('leases deliveries, logs every attempt and schedules the next', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = await store.enqueueExport(sampleExport(id));
        await store.claimExport('w1', 10_000);
        const d = delivery(id, job.id);
        await store.completeExport(job.id, 'w1', sampleResult(), [d]);
        const [claimed] = await store.claimDeliveries('d1', 10, 10_000);
        expect(claimed?.id).toBe(d.id);
        expect(await store.claimDeliveries('d2', 10, 10_000)).toEqual([]);
        const attempt = { at: new Date(), durationMs: 12, status: 500, error: 'HTTP 500', responseBody: 'oops' };
        await store.recordAttempt(d.id, 'd1', attempt, { state: 'pending', nextAttemptAt: new Date(Date.now() + 60_000) });
        expect(await store.claimDeliveries('d2', 10, 10_000)).toEqual([]);
        const logged = await store.getDelivery(d.id);
        expect(logged).toMatchObject({ state: 'pending', attempts: 1, lastError: 'HTTP 500', attemptLog: [attempt] });
      }));

    it('keeps everything across a restart: a queued export is claimable after reopening', async () => {
      const location = await options.newLocation();
      const first = await options.open(location);
      const { id } = await first.registerApiKey('k');
      const job = await first.enqueueExport(sampleExport(id));
      const running = await first.enqueueExport(sampleExport(id, { requestedAt: new Date(Date.now() + 1) }));
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

    it('records downloads', () =>
      withStore(async (store) => {
        const { id } = await store.registerApiKey('k');
        const job = await store.enqueueExport(sampleExport(id));
        await store.recordDownload({ exportId: job.id, at: new Date(), bytes: 10, client: '127.0.0.1', range: null });
        expect((await store.getExport(job.id))?.downloads).toBe(1);
      }));

    options.additionalTests?.();
  });
}
