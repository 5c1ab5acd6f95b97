import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime, type RuntimeOverrides } from './runtime.js';
import { defineConfig } from './config.js';
import { seededDataDir } from './test-support/data-dir.js';
import { startScriptedReceiver } from './test-support/scripted-receiver.js';

const KEY = 'api-hardening-key-123';
const ADMIN = 'api-hardening-admin-token-0123';
const cleanup: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function start(dataDir: string, overrides: RuntimeOverrides = {}, datasets: unknown[] = []): Promise<FerryRuntime> {
  const ferry = await startFerry(
    defineConfig({ dataDir, server: { port: 0 }, logLevel: 'silent', notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } }, datasets: datasets as never }),
    KEY,
    { adminToken: ADMIN, ...overrides },
  );
  cleanup.push(() => ferry.stop());
  return ferry;
}

async function get(ferry: FerryRuntime, path: string, headers: Record<string, string> = { 'x-api-key': KEY }) {
  const res = await fetch(`${ferry.url}${path}`, { headers });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function freshDir(): Promise<string> {
  const dir = await seededDataDir('ferry-api-hardening-');
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('page cursors', () => {
  it('answers 400 with the path for a starting_after that names nothing of the account, instead of restarting', async () => {
    const ferry = await start(await freshDir());
    for (const path of ['/events', '/webhooks/deliveries', '/dataset/export']) {
      const res = await get(ferry, `${path}?starting_after=evt_never_issued`);
      expect(res.status, path).toBe(400);
      expect(res.json, path).toMatchObject({ error: { code: 'VALIDATION_FAILED', path: 'query.starting_after' } });
    }
  });
});

describe('dataset publish schedules', () => {
  it('are listed for the operator under /admin/schedules', async () => {
    const dir = await freshDir();
    const ferry = await start(dir, {}, [
      {
        key: 'rentals_weekly',
        relation: { sql: 'SELECT property_id, as_of_week, asking_rent FROM read_parquet(\'' + dir + '/datasets/rentals.parquet\')' },
        columns: [
          { name: 'property_id', type: 'bigint', role: 'dimension' },
          { name: 'as_of_week', type: 'date', role: 'time' },
          { name: 'asking_rent', type: 'integer', role: 'measure' },
        ],
        primaryKey: ['property_id', 'as_of_week'],
        versioning: { schedule: '0 4 * * *' },
      },
    ]);
    const listed = await get(ferry, '/admin/schedules', { authorization: `Bearer ${ADMIN}` });
    expect(listed.status).toBe(200);
    expect(listed.json.data).toEqual([expect.objectContaining({ id: 'dsv_rentals_weekly', cron: '0 4 * * *', dataset: 'rentals_weekly' })]);
    expect((await get(ferry, '/admin/schedules')).status).toBe(403);
  });
});

describe('download-link keys from the environment', () => {
  it('signs with the first key, honours older ones (rotation), and keeps no key in the job store', async () => {
    const dir = await freshDir();
    const rx = await startScriptedReceiver();
    cleanup.push(() => rx.close());
    const older = 'older-key-'.padEnd(40, 'o');
    const newer = 'newer-key-'.padEnd(40, 'n');
    const first = await start(dir, { secretKeys: [older] });
    const submit = await fetch(`${first.url}/dataset/export`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: { scopes: [{ column: 'msa' }], limit: 3 }, webhookURL: `${rx.url}/hook`, name: 'linked', format: 'csv' }),
    });
    const { queryUUID } = (await submit.json()) as { queryUUID: string };
    const status = await waitFor('completion', async () => {
      const s = await get(first, `/dataset/export/${queryUUID}`);
      return s.json.state === 'completed' ? s : undefined;
    });
    const oldLink = (status.json.download as { url: string }).url;
    expect(await first.jobs.settings.get('download_link_secret')).toBeNull();
    await first.stop();

    // Rotation: the new key signs, the old one still verifies the links already handed out.
    const rotated = await start(dir, { secretKeys: [newer, older] });
    const path = new URL(oldLink).pathname;
    expect((await fetch(`${rotated.url}${path}`)).status).toBe(200);
    const newLink = ((await get(rotated, `/dataset/export/${queryUUID}`)).json.download as { url: string }).url;
    expect(new URL(newLink).pathname).not.toBe(path);
    await rotated.stop();

    // Once the old key is dropped, its links stop working; the new one's still do.
    const dropped = await start(dir, { secretKeys: [newer] });
    expect((await fetch(`${dropped.url}${path}`)).status).toBe(403);
    expect((await fetch(`${dropped.url}${new URL(newLink).pathname}`)).status).toBe(200);
  });
});
