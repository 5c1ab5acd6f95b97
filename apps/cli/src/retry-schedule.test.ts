import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';

/*
 * docs/webhooks.md: "Registered endpoints can set their own schedule: retryScheduleSeconds: [0, 60,
 * 600]". Through the API of a running Ferry, with the worker's default schedule: after a failed
 * first attempt, the next one is due 60 s (+-20%) later, not the default's 5 s. The whole schedule,
 * step by step, is checked with an injected clock in packages/engine/src/delivery-clock.test.ts.
 */

const KEY = 'retry-schedule-key-01';
let dataDir: string;
let rx: ScriptedReceiver;
let ferry: FerryRuntime;

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-retry-schedule-');
  rx = await startScriptedReceiver();
  ferry = await startFerry(defineConfig({ dataDir, server: { port: 0 }, logLevel: 'silent', notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } } }), KEY);
});

afterAll(async () => {
  await ferry?.stop();
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${ferry.url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

type Delivery = { id: string; endpointId: string; attempts: number; nextAttemptAt: string | null; attemptLog: Array<{ at: string; status: number | null }> };

/** The first failed attempt of the endpoint's delivery, and when the next one is due. */
async function firstRetryDelay(path: string, retryScheduleSeconds?: number[]): Promise<number> {
  rx.script(path, [500]);
  const endpoint = await api('POST', '/webhooks/endpoints', { url: `${rx.url}${path}`, events: ['export.requested'], ...(retryScheduleSeconds ? { retryScheduleSeconds } : {}) });
  expect(endpoint.status).toBe(201);
  expect(endpoint.json.retryScheduleSeconds).toEqual(retryScheduleSeconds ?? null);
  const submitted = await api('POST', '/dataset/export', { dataset: { scopes: [{ column: 'msa' }], limit: 1 }, webhookURL: `${rx.url}/owner`, name: 'x', format: 'csv' });
  expect(submitted.status).toBe(201);
  const delivery = await waitFor(`the first attempt to ${path}`, async () => {
    const listed = (await api('GET', `/webhooks/deliveries?endpoint=${endpoint.json.id as string}`)).json.data as Array<{ id: string; attempts: number }>;
    const d = listed.find((x) => x.attempts === 1);
    return d ? ((await api('GET', `/webhooks/deliveries/${d.id}`)).json as unknown as Delivery) : undefined;
  });
  expect(delivery.attemptLog.map((a) => a.status)).toEqual([500]);
  return Date.parse(delivery.nextAttemptAt!) - Date.parse(delivery.attemptLog[0]!.at);
}

it("schedules an endpoint's retries by its own retryScheduleSeconds, and others by the default", async () => {
  const own = await firstRetryDelay('/own-schedule', [0, 60, 600]);
  expect(own).toBeGreaterThanOrEqual(48_000);
  expect(own).toBeLessThanOrEqual(72_000);
  const standard = await firstRetryDelay('/default-schedule');
  expect(standard).toBeGreaterThanOrEqual(4_000);
  expect(standard).toBeLessThanOrEqual(6_000);
});
