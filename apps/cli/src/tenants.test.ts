import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the parser ships no types; it returns [{name, type, metrics: [{value, labels}]}].
import parsePrometheus from 'parse-prometheus-text-format';
import { waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { seededDataDir } from './test-support/data-dir.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const ADMIN = 'tenants-admin-token-0123456789';
const FIRST_KEY = 'tenants-first-key-123';
let dataDir: string;
let ferry: FerryRuntime;
let rx: ScriptedReceiver;

type Answer = { status: number; json: Record<string, unknown>; headers: Headers; text: string };

async function call(method: string, path: string, auth: { key?: string; admin?: boolean }, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (auth.key) headers['x-api-key'] = auth.key;
  if (auth.admin) headers.authorization = `Bearer ${ADMIN}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${ferry.url}${path}`, { method, headers, redirect: 'manual', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') && text ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: res.status, json, headers: res.headers, text };
}

async function tenant(name: string): Promise<string> {
  const account = await call('POST', '/admin/accounts', { admin: true }, { name });
  expect(account.status).toBe(201);
  const key = await call('POST', `/admin/accounts/${account.json.id as number}/keys`, { admin: true });
  expect(key.status).toBe(201);
  expect(key.json.key as string).toMatch(/^fk_/);
  return key.json.key as string;
}

async function exportFor(key: string, path = '/hook'): Promise<string> {
  const res = await call('POST', '/dataset/export', { key }, { dataset: { scopes: [{ column: 'msa' }], limit: 3 }, webhookURL: `${rx.url}${path}`, name: 'tenant export', format: 'csv' });
  expect(res.status, res.text).toBe(201);
  return res.json.queryUUID as string;
}

const completed = (key: string, id: string) =>
  waitFor(`export ${id} to complete`, async () => {
    const s = await call('GET', `/dataset/export/${id}`, { key });
    return s.json.state === 'completed' ? s : undefined;
  });

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-tenants-');
  rx = await startScriptedReceiver();
  ferry = await startFerry(
    defineConfig({
      dataDir,
      server: { port: 0 },
      logLevel: 'silent',
      notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
      exports: { submitRatePerSecond: 1, submitBurst: 3, maxQueuedPerAccount: 50 },
    }),
    FIRST_KEY,
    { adminToken: ADMIN },
  );
});

afterAll(async () => {
  await ferry?.stop();
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('accounts, keys and isolation', () => {
  it("keeps every export, delivery, endpoint and event of one account out of another's reach (404, never 403)", async () => {
    const a = await tenant('a');
    const b = await tenant('b');
    const id = await exportFor(a);
    const status = await completed(a, id);
    const link = (status.json.download as { url: string }).url;
    const endpoint = await call('POST', '/webhooks/endpoints', { key: a }, { url: `${rx.url}/a-events`, events: ['*'] });
    const delivery = ((await call('GET', '/webhooks/deliveries', { key: a })).json.data as Array<{ id: string }>)[0]!;

    expect((await call('GET', `/dataset/export/${id}`, { key: b })).status).toBe(404);
    expect((await call('POST', `/dataset/export/${id}/cancel`, { key: b })).status).toBe(404);
    expect((await call('GET', `/webhooks/deliveries/${delivery.id}`, { key: b })).status).toBe(404);
    expect((await call('POST', `/webhooks/deliveries/${delivery.id}/redeliver`, { key: b })).status).toBe(404);
    expect((await call('GET', `/webhooks/endpoints/${endpoint.json.id as string}`, { key: b })).status).toBe(404);
    for (const list of ['/dataset/export', '/webhooks/deliveries', '/webhooks/endpoints', '/events']) {
      expect((await call('GET', list, { key: b })).json.data, list).toEqual([]);
    }
    expect((await call('GET', '/webhooks/stats', { key: b })).json).toEqual({ stored: { pending: 0, succeeded: 0, failed: 0 } });
    // The download link is the credential: it works for whoever holds it, and only for that file.
    expect((await fetch(link)).status).toBe(200);
  });

  it('refuses a revoked key at once, whether the operator or the tenant revoked it', async () => {
    const key = await tenant('c');
    expect((await call('GET', '/keys', { key })).status).toBe(200);
    const second = await call('POST', '/keys', { key });
    expect(second.status).toBe(201);
    const listed = (await call('GET', '/keys', { key })).json.data as Array<{ id: string; prefix: string; revokedAt: string | null }>;
    expect(listed.map((k) => k.prefix)).toEqual([key.slice(0, 12), (second.json.key as string).slice(0, 12)]);
    expect(JSON.stringify(listed)).not.toContain(key);

    expect((await call('DELETE', `/keys/${second.json.id as string}`, { key })).status).toBe(204);
    expect((await call('GET', '/keys', { key: second.json.key as string })).status).toBe(403);
    expect((await call('DELETE', `/admin/keys/${listed[0]!.id}`, { admin: true })).status).toBe(204);
    const refused = await call('GET', '/datasets', { key });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('keeps the admin API and version publishing to the operator', async () => {
    const key = await tenant('d');
    for (const [method, path] of [
      ['GET', '/admin/accounts'],
      ['POST', '/admin/accounts'],
      ['POST', '/datasets/rentals/versions'],
    ] as const) {
      expect((await call(method, path, { key })).status, `${method} ${path}`).toBe(403);
    }
    expect((await call('GET', '/admin/accounts', { key: 'not-the-admin-token' })).status).toBe(403);
    const wrongToken = await fetch(`${ferry.url}/admin/accounts`, { headers: { authorization: 'Bearer wrong-token-0123456789' } });
    expect(wrongToken.status).toBe(403);
  });
});

describe('limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the burst', async () => {
    const key = await tenant('busy');
    for (let i = 0; i < 3; i++) await exportFor(key);
    const limited = await call('POST', '/dataset/export', { key }, { dataset: { scopes: [{ column: 'msa' }], limit: 3 }, webhookURL: `${rx.url}/hook`, name: 'one too many', format: 'csv' });
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('metrics', () => {
  it('serves Prometheus text to the operator whose counters move with the work', async () => {
    const scrape = async () => {
      const res = await call('GET', '/metrics', { admin: true });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const families = parsePrometheus(res.text) as Array<{ name: string; metrics: Array<{ value?: string; labels?: Record<string, string> }> }>;
      const value = (name: string, labels: Record<string, string> = {}) =>
        families
          .find((f) => f.name === name)
          ?.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
          .reduce((n, m) => n + Number(m.value ?? 0), 0) ?? 0;
      return { families, value };
    };
    expect((await call('GET', '/metrics', { key: FIRST_KEY })).status).toBe(403);
    // Other tests' exports finish first, so the counters below move for this test's export alone.
    const before = await waitFor('the queue to drain', async () => {
      const s = await scrape();
      return s.value('ferry_exports', { state: 'queued' }) + s.value('ferry_exports', { state: 'running' }) === 0 && s.value('ferry_deliveries', { state: 'pending' }) === 0 ? s : undefined;
    });
    for (const name of ['ferry_exports_total', 'ferry_queue_depth', 'ferry_webhook_attempts_total', 'ferry_queue_oldest_age_seconds', 'ferry_export_duration_seconds', 'ferry_leases_lost_total']) {
      expect(before.families.some((f) => f.name === name), name).toBe(true);
    }
    expect(before.families.every((f) => f.name.startsWith('ferry_'))).toBe(true);

    const key = await tenant('metered');
    const id = await exportFor(key, '/metered');
    await completed(key, id);
    await waitFor('the webhook', () => rx.to('/metered')[0]);
    await waitFor('the attempt to be counted', async () => ((await scrape()).value('ferry_webhook_attempts_total', { outcome: 'succeeded', status_class: '2xx' }) > before.value('ferry_webhook_attempts_total', { outcome: 'succeeded', status_class: '2xx' }) ? true : undefined));
    const after = await scrape();
    expect(after.value('ferry_exports_total', { outcome: 'completed', format: 'csv' })).toBe(before.value('ferry_exports_total', { outcome: 'completed', format: 'csv' }) + 1);
    expect(after.value('ferry_export_rows_total', { format: 'csv' })).toBe(before.value('ferry_export_rows_total', { format: 'csv' }) + 3);
    expect(after.value('ferry_exports', { state: 'completed' })).toBeGreaterThan(before.value('ferry_exports', { state: 'completed' }));
  });

  it('answers /readyz with each part it checked', async () => {
    const res = await call('GET', '/readyz', {});
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      status: 'ready',
      checks: [
        { part: 'jobs:sqlite', ok: true },
        { part: 'store:local', ok: true },
        { part: 'source:default', ok: true },
      ],
    });
  });
});
