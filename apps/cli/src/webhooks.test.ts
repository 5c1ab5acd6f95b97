import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { waitFor } from '@ferry/testing';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';

const KEY = 'webhook-tests-key';
let dataDir: string;
let ferry: FerryRuntime;
let rx: ScriptedReceiver;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${ferry.url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const QUERY = { scopes: [{ column: 'msa' }, { column: 'asking_rent', aggregate: 'Max' }], limit: 3 };

async function exportTo(path: string, extra: Record<string, unknown> = {}): Promise<{ queryUUID: string; webhookSecret?: string }> {
  const res = await api('POST', '/dataset/export', { dataset: QUERY, webhookURL: `${rx.url}${path}`, name: `to ${path}`, format: 'csv', ...extra });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json as { queryUUID: string; webhookSecret?: string };
}

type DeliveryView = { id: string; state: string; attempts: number; webhookId: string; event: string };

async function settledDelivery(queryUUID: string, event = 'export.completed'): Promise<DeliveryView> {
  return waitFor(`a settled ${event} delivery for ${queryUUID}`, async () => {
    const status = await api('GET', `/dataset/export/${queryUUID}`);
    const deliveries = (status.json.webhook as { deliveries: DeliveryView[] } | undefined)?.deliveries ?? [];
    const d = deliveries.find((x) => x.event === event);
    return d && d.state !== 'pending' ? d : undefined;
  });
}

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-webhooks-');
  rx = await startScriptedReceiver();
  ferry = await startFerry(
    defineConfig({
      dataDir,
      server: { port: 0 },
      logLevel: 'silent',
      notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
      sources: { default: { use: 'duckdb' } },
      defaultDataset: 'rentals',
      datasets: [
        {
          key: 'broken',
          relation: { file: join(dataDir, 'missing.parquet') },
          columns: [{ name: 'x', type: 'integer', role: 'dimension' }],
        },
      ],
    }),
    KEY,
    { deliveryWorker: { scheduleMs: [0, 150, 150, 150], timeoutMs: 1_000, pollMs: 50 }, exportWorker: { maxAttempts: 1, heartbeatMs: 200 } },
  );
});

afterAll(async () => {
  await ferry?.stop();
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('delivery: retries, identity, attempt log', () => {
  it('retries a receiver that fails (500, then a timeout) and then succeeds: three attempts, one id', async () => {
    rx.script('/flaky', [500, 'hang', 200]);
    const { queryUUID } = await exportTo('/flaky');
    const delivery = await settledDelivery(queryUUID);
    expect(delivery).toMatchObject({ state: 'succeeded', attempts: 3 });
    const hits = rx.to('/flaky');
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.headers['webhook-id']))).toEqual(new Set([delivery.webhookId]));
    expect(new Set(hits.map((h) => h.body)).size).toBe(1);
    const log = await api('GET', `/webhooks/deliveries/${delivery.id}`);
    const attempts = log.json.attemptLog as Array<{ status: number | null; error: string | null }>;
    expect(attempts.map((a) => a.status)).toEqual([500, null, 200]);
    expect(attempts[1]!.error).toMatch(/time/i);
  });

  it('treats a redirect as a failure and never follows it', async () => {
    rx.script('/moved', [{ status: 301, headers: { location: `${rx.url}/elsewhere` } }, 200]);
    const { queryUUID } = await exportTo('/moved');
    const delivery = await settledDelivery(queryUUID);
    expect(delivery).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(rx.to('/elsewhere')).toHaveLength(0);
    const log = await api('GET', `/webhooks/deliveries/${delivery.id}`);
    expect((log.json.attemptLog as Array<{ status: number }>).map((a) => a.status)).toEqual([301, 200]);
  });

  it('disables the endpoint on 410 Gone and announces endpoint.disabled', async () => {
    const watcher = await api('POST', '/webhooks/endpoints', { url: `${rx.url}/ops`, events: ['endpoint.disabled'], scheme: 'standard-webhooks' });
    expect(watcher.status).toBe(201);
    rx.script('/gone', [410]);
    const { queryUUID } = await exportTo('/gone');
    const delivery = await settledDelivery(queryUUID);
    expect(delivery).toMatchObject({ state: 'failed', attempts: 1 });
    const job = await ferry.jobs.exports.get(queryUUID);
    expect(await ferry.jobs.endpoints.get(job!.endpointId)).toMatchObject({ enabled: false, disabledReason: 'the receiver answered 410 Gone' });
    const notice = await waitFor('endpoint.disabled', () => rx.to('/ops').find((h) => h.body.includes('endpoint.disabled')));
    const event = new Webhook(watcher.json.secret as string).verify(notice.body, notice.headers as Record<string, string>) as {
      data: { object: { endpoint_id: string; reason: string } };
    };
    expect(event.data.object).toMatchObject({ endpoint_id: job!.endpointId, reason: 'the receiver answered 410 Gone' });
  });

  it('redelivers with the same id, and recovers failed deliveries in bulk', async () => {
    rx.script('/replay', [404]);
    const { queryUUID } = await exportTo('/replay');
    const failed = await settledDelivery(queryUUID);
    expect(failed).toMatchObject({ state: 'failed', attempts: 1 });
    const again = await api('POST', `/webhooks/deliveries/${failed.id}/redeliver`);
    expect(again.status).toBe(202);
    const replayed = await settledDelivery(queryUUID);
    expect(replayed).toMatchObject({ id: failed.id, state: 'succeeded', attempts: 2 });
    expect(new Set(rx.to('/replay').map((h) => h.headers['webhook-id']))).toEqual(new Set([failed.webhookId]));

    rx.script('/bulk', [404]);
    const bulk = await exportTo('/bulk');
    await settledDelivery(bulk.queryUUID);
    const listed = await api('GET', `/webhooks/deliveries?status=failed&since=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`);
    expect((listed.json.data as DeliveryView[]).some((d) => d.event === 'export.completed')).toBe(true);
    const recovered = await api('POST', '/webhooks/deliveries/recover', { since: new Date(Date.now() - 60_000).toISOString() });
    expect(recovered.json.recovered as number).toBeGreaterThanOrEqual(1);
    expect(await settledDelivery(bulk.queryUUID)).toMatchObject({ state: 'succeeded' });
  });

  it('answers bad delivery queries with a 400 and a path', async () => {
    const res = await api('GET', '/webhooks/deliveries?status=weird');
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_FAILED', path: 'query.status' });
    expect((await api('GET', '/webhooks/deliveries/dlv_nope')).status).toBe(404);
  });
});

describe('signing schemes', () => {
  it('signs an export webhook with Standard Webhooks when asked, verified by the standardwebhooks package', async () => {
    const { queryUUID, webhookSecret } = await exportTo('/standard', { webhookScheme: 'standard-webhooks' });
    expect(webhookSecret).toMatch(/^whsec_/);
    await settledDelivery(queryUUID);
    const [hit] = rx.to('/standard');
    const payload = new Webhook(webhookSecret!).verify(hit!.body, hit!.headers as Record<string, string>) as { queryUUID: string; gcsBlob: object };
    expect(payload.queryUUID).toBe(queryUUID);
    expect(hit!.headers['sha256-hmac-signature']).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('registered endpoints and lifecycle events (seed 004)', () => {
  it('sends each lifecycle event to subscribers in the seed 004 envelope, filtered by type', async () => {
    const all = await api('POST', '/webhooks/endpoints', { url: `${rx.url}/all`, events: ['export.*'], scheme: 'standard-webhooks', description: 'everything' });
    const completedOnly = await api('POST', '/webhooks/endpoints', { url: `${rx.url}/completed`, events: ['export.completed'], scheme: 'secret-header' });
    expect(all.status).toBe(201);
    expect(completedOnly.json.secret).toMatch(/^whsec_/);
    const { queryUUID } = await exportTo('/owner');
    await settledDelivery(queryUUID);
    const status = await api('GET', `/dataset/export/${queryUUID}`);
    await fetch((status.json.download as { url: string }).url);

    const types = () => rx.to('/all').map((h) => (JSON.parse(h.body) as { type: string; data: { object: { uuid: string } } }))
      .filter((e) => e.data.object.uuid === queryUUID)
      .map((e) => e.type);
    await waitFor('three lifecycle events', () => (types().length >= 3 ? true : undefined));
    expect(types().sort()).toEqual(['export.completed', 'export.downloaded', 'export.requested']);
    for (const hit of rx.to('/all')) {
      const event = new Webhook(all.json.secret as string).verify(hit.body, hit.headers as Record<string, string>) as Record<string, unknown>;
      expect(Object.keys(event)).toEqual(['type', 'id', 'created', 'data']);
      expect(event.id).toMatch(/^evt_[A-Za-z0-9]{24}$/);
      expect(hit.headers['webhook-id']).toBe(event.id);
      const object = (event.data as { object: Record<string, unknown> }).object;
      expect(Object.keys(object).sort()).toEqual(
        ['account_id', 'created_at', 'filters', 'finished_at', 'object', 'started_at', 'updated_at', 'user_email', 'user_id', 'uuid'],
      );
      expect(object.object).toBe('rentals');
    }
    const completedHits = await waitFor('the completed-only endpoint', () => {
      const h = rx.to('/completed').filter((x) => x.body.includes(queryUUID));
      return h.length ? h : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.to('/completed').filter((x) => x.body.includes(queryUUID)).map((h) => (JSON.parse(h.body) as { type: string }).type)).toEqual(['export.completed']);
    expect(completedHits[0]!.headers['x-webhook-secret']).toBe(completedOnly.json.secret);

    const events = await api('GET', `/events?type=export.*&limit=2`);
    expect((events.json.data as unknown[]).length).toBe(2);
    const next = await api('GET', `/events?type=export.*&starting_after=${(events.json.data as Array<{ id: string }>)[1]!.id}`);
    expect((next.json.data as Array<{ id: string }>).length).toBeGreaterThan(0);
  });

  it('announces a failed export with its reason, and notifies the export URL only when asked', async () => {
    const failures = await api('POST', '/webhooks/endpoints', { url: `${rx.url}/failures`, events: ['export.failed'] });
    const { queryUUID } = await exportTo('/failing', { dataset: { from: 'broken', scopes: [{ column: 'x' }] }, notifyOnFailure: true });
    const hit = await waitFor('export.failed', () => rx.to('/failures').find((h) => h.body.includes(queryUUID)));
    const event = new Webhook(failures.json.secret as string).verify(hit.body, hit.headers as Record<string, string>) as {
      type: string;
      data: { object: Record<string, unknown> };
    };
    expect(event.type).toBe('export.failed');
    expect(event.data.object.failed_reason).toEqual(expect.any(String));
    expect(event.data.object.finished_at).toBeNull();
    const notice = await waitFor('the failure notice', () => rx.to('/failing')[0]);
    expect(JSON.parse(notice.body)).toMatchObject({ queryUUID, error: { reason: expect.any(String) } });
  });

  it('manages endpoints: list, update, rotate (both secrets verify for a while), delete, SSRF rules', async () => {
    const created = await api('POST', '/webhooks/endpoints', { url: `${rx.url}/managed`, events: ['export.completed'] });
    const id = created.json.id as string;
    expect(((await api('GET', '/webhooks/endpoints')).json.data as Array<{ id: string }>).some((e) => e.id === id)).toBe(true);
    expect((await api('GET', `/webhooks/endpoints/${id}`)).json).not.toHaveProperty('secret');
    expect((await api('PATCH', `/webhooks/endpoints/${id}`, { events: ['export.*'] })).json.events).toEqual(['export.*']);
    const rotated = await api('POST', `/webhooks/endpoints/${id}/rotate-secret`);
    const { queryUUID } = await exportTo('/owner');
    await settledDelivery(queryUUID);
    const hit = await waitFor('a delivery signed by both secrets', () => rx.to('/managed').find((h) => h.body.includes(queryUUID)));
    expect(new Webhook(rotated.json.secret as string).verify(hit.body, hit.headers as Record<string, string>)).toBeTruthy();
    expect(new Webhook(created.json.secret as string).verify(hit.body, hit.headers as Record<string, string>)).toBeTruthy();
    expect((await api('POST', '/webhooks/endpoints', { url: 'https://10.0.0.1/x', events: ['*'] })).json.error).toMatchObject({
      code: 'INVALID_WEBHOOK_URL',
      path: 'url',
    });
    expect((await api('POST', '/webhooks/endpoints', { url: `${rx.url}/x`, events: ['Export Completed'] })).json.error).toMatchObject({
      path: 'events[0]',
    });
    expect((await api('DELETE', `/webhooks/endpoints/${id}`)).status).toBe(204);
    expect((await api('GET', `/webhooks/endpoints/${id}`)).status).toBe(404);
  });
});

describe('cancellation', () => {
  it('cancels a running export: it stops, its partial files are removed, and export.failed says why', async () => {
    const { readdir } = await import('node:fs/promises');
    const { queryUUID } = await exportTo('/cancelled', {
      dataset: { scopes: [{ column: 'property_id' }, { column: 'street_address' }, { column: 'as_of_week' }, { column: 'asking_rent' }], orderBy: null },
      maxFileRows: 20_000,
    });
    await waitFor('the export to write its first parts', async () => {
      const s = await api('GET', `/dataset/export/${queryUUID}`);
      return s.json.state === 'running' && (s.json.progress as { rows: number }).rows > 60_000 ? true : undefined;
    });
    const cancelled = await api('POST', `/dataset/export/${queryUUID}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ state: 'failed', error: 'cancelled by request' });
    const dir = join(dataDir, 'exports', queryUUID);
    await waitFor('the partial files to be removed', async () => {
      const left = (await readdir(dir).catch(() => [] as string[])).filter((f) => !f.endsWith('.ferry-meta.json'));
      return left.length === 0 ? true : undefined;
    });
    expect((await api('GET', `/dataset/export/${queryUUID}`)).json).toMatchObject({ state: 'failed', download: null });
    const events = (await api('GET', '/events?type=export.failed')).json.data as Array<{ data: { object: { uuid: string; failed_reason: string } } }>;
    expect(events.find((e) => e.data.object.uuid === queryUUID)?.data.object.failed_reason).toBe('cancelled by request');
    const again = await api('POST', `/dataset/export/${queryUUID}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'CONFLICT' });
    expect(rx.to('/cancelled')).toHaveLength(0);
  });
});

