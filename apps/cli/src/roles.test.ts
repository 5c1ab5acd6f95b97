import { rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError, TOKENS, type ObjectStore } from '@ferry/core';
import { waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig, type FerryConfig } from './config.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';

const KEY = 'roles-test-key-123';
let rx: ScriptedReceiver;
const running: FerryRuntime[] = [];
const dataDirs: string[] = [];

/** Each test has its own data dir (its own job store): no test sees another's processes or exports. */
async function freshDir(): Promise<string> {
  const dir = await seededDataDir('ferry-roles-');
  dataDirs.push(dir);
  return dir;
}

function config(dataDir: string, extra: Partial<Parameters<typeof defineConfig>[0]> = {}): FerryConfig {
  return defineConfig({
    dataDir,
    server: { port: 0 },
    logLevel: 'silent',
    notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
    ...extra,
  });
}

async function start(...args: Parameters<typeof startFerry>): Promise<FerryRuntime> {
  const ferry = await startFerry(...args);
  running.push(ferry);
  return ferry;
}

async function call(ferry: FerryRuntime, method: string, path: string, body?: unknown) {
  const res = await fetch(`${ferry.url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function submit(ferry: FerryRuntime, path: string, dataset: unknown = { scopes: [{ column: 'msa' }], limit: 3 }): Promise<string> {
  const res = await call(ferry, 'POST', '/dataset/export', { dataset, webhookURL: `${rx.url}${path}`, name: path.slice(1), format: 'csv' });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.queryUUID as string;
}

const state = async (ferry: FerryRuntime, id: string) => (await call(ferry, 'GET', `/dataset/export/${id}`)).json;

beforeAll(async () => {
  rx = await startScriptedReceiver();
});

afterAll(async () => {
  // Hanging requests end first, so stopping workers does not wait for their timeouts.
  await rx.close();
  for (const ferry of running.reverse()) await ferry.stop();
  await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('process roles', () => {
  it('an API process never runs an export; a worker sharing its job store does', async () => {
    const dir = await freshDir();
    const api = await start(config(dir), KEY, { role: 'api' });
    expect(api.workers).toBeNull();
    const id = await submit(api, '/queued');
    // Long enough for any worker in this process to have claimed it several times over.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await state(api, id)).toMatchObject({ state: 'queued', attempts: 0 });

    const worker = await start(config(dir, { server: { port: 0, publicUrl: api.url! } }), undefined, { role: 'worker' });
    expect(worker.url).toBeNull();
    const hit = await waitFor('the webhook from the worker', () => rx.to('/queued')[0]);
    expect(await state(api, id)).toMatchObject({ state: 'completed', attempts: 1 });
    // The worker signed the link with the secret every process shares through the job store.
    const link = (JSON.parse(hit.body) as { gcsBlob: { url: string } }).gcsBlob.url;
    expect(link.startsWith(`${api.url}/downloads/`)).toBe(true);
    const download = await fetch(link);
    expect(download.status).toBe(200);
    expect(gunzipSync(Buffer.from(await download.arrayBuffer())).toString('utf8').split('\n')[0]).toBe('msa');
    await worker.stop();
    await api.stop();
  });

  it('runs a 3-row export while a 1M-row export is still running', async () => {
    const ferry = await start(config(await freshDir()), KEY);
    const big = await submit(ferry, '/big', { scopes: [{ column: 'property_id' }, { column: 'street_address' }, { column: 'as_of_week' }, { column: 'asking_rent' }], orderBy: null, limit: 1_000_000 });
    await waitFor('the big export to start', async () => ((await state(ferry, big)).state === 'running' ? true : undefined));
    const small = await submit(ferry, '/small');
    await waitFor('the small export to complete', async () => ((await state(ferry, small)).state === 'completed' ? true : undefined));
    expect((await state(ferry, big)).state).toBe('running');
    await waitFor('the big export to complete', async () => ((await state(ferry, big)).state === 'completed' ? true : undefined), 120_000);
    expect((await state(ferry, big)).numberRows).toBe(998_400);
    await ferry.stop();
  });

  it("keeps another endpoint's webhook on time while a receiver hangs", async () => {
    const ferry = await start(config(await freshDir()), KEY, { deliveryWorker: { timeoutMs: 30_000 } });
    rx.script('/hang', Array.from({ length: 12 }, () => 'hang' as const));
    for (let i = 0; i < 12; i++) await submit(ferry, '/hang');
    // The hanging receiver holds at most its per-endpoint share of the delivery slots (4 of 8).
    await waitFor('the hanging receiver to hold its share of slots', () => (rx.to('/hang').length >= 4 ? true : undefined));
    const other = await submit(ferry, '/other');
    const hit = await waitFor('the other endpoint to get its webhook', () => rx.to('/other')[0]);
    const completedOn = Date.parse((JSON.parse(hit.body) as { completedOn: string }).completedOn);
    expect(hit.at - completedOn).toBeLessThan(1_000);
    expect(rx.to('/hang')).toHaveLength(4);
    expect((await state(ferry, other)).state).toBe('completed');
  });

  it('takes a swapped registration from the container without touching the rest', async () => {
    const refusing: ObjectStore = {
      name: 'refusing',
      capabilities: { signedUrls: false, rangeReads: false, multipart: false },
      put: async () => {
        throw new FerryError('TRANSIENT', 'the store is refusing writes');
      },
      get: async () => {
        throw new FerryError('NOT_FOUND', 'nothing here');
      },
      delete: async () => undefined,
    };
    const ferry = await start(config(await freshDir()), KEY, { exportWorker: { maxAttempts: 1 }, register: (di) => di.registerInstance(TOKENS.Store, refusing) });
    expect(ferry.container.resolve(TOKENS.Store)).toBe(refusing);
    const id = await submit(ferry, '/refused');
    const failed = await waitFor('the export to fail at the store', async () => {
      const s = await state(ferry, id);
      return s.state === 'failed' ? s : undefined;
    });
    expect(failed.error).toBe('the store is refusing writes');
    await ferry.stop();
  });
});
