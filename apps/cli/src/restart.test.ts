import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFerry } from './runtime.js';
import { defineConfig } from './config.js';
import { startSeedReceivers, waitFor, type SeedReceivers } from '@ferry/testing';
import { seededDataDir } from './test-support/data-dir.js';

let dataDir: string;
let receivers: SeedReceivers;

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-restart-');
  receivers = await startSeedReceivers();
});

afterAll(async () => {
  await receivers?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const config = () =>
  defineConfig({ dataDir, server: { port: 0 }, logLevel: 'silent', notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } } });

it('completes after a restart an export queued before it, and retries a failing receiver with one id', async () => {
  // First life: the API accepts the export but no worker runs, then the process goes away.
  const first = await startFerry(config(), 'your-api-key', { workers: false });
  const res = await fetch(`${first.url}/dataset/export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'your-api-key' },
    body: JSON.stringify({
      dataset: { scopes: [{ column: 'msa' }, { column: 'effective_rent', aggregate: 'Max' }], limit: 5 },
      webhookURL: `${receivers.url}/webhook/dataset-export`,
      name: 'after restart',
      format: 'csv',
    }),
  });
  expect(res.status).toBe(201);
  const { queryUUID } = (await res.json()) as { queryUUID: string };
  await first.stop();

  // Second life: the receiver fails twice; deliveries retry on a short schedule.
  receivers.failNext(2, 500);
  const second = await startFerry(config(), 'your-api-key', { deliveryWorker: { scheduleMs: [0, 100, 100, 100] } });
  try {
    const ok = await waitFor('a successful delivery', () => receivers.received.find((r) => r.body.queryUUID === queryUUID && r.status === 200));
    const attempts = receivers.received.filter((r) => r.body.queryUUID === queryUUID);
    expect(attempts.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect((ok.body.gcsBlob as { numberRows: number }).numberRows).toBe(5);
    const status = (await (await fetch(`${second.url}/dataset/export/${queryUUID}`, { headers: { 'x-api-key': 'your-api-key' } })).json()) as {
      state: string;
      attempts: number;
    };
    expect(status).toMatchObject({ state: 'completed', attempts: 1 });
  } finally {
    await second.stop();
  }

  // Third life: a delivered webhook is not sent again.
  const before = receivers.received.length;
  const third = await startFerry(config(), 'your-api-key');
  await new Promise((r) => setTimeout(r, 1_000));
  await third.stop();
  expect(receivers.received.length).toBe(before);
});
