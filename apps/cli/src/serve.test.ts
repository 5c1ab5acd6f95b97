import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookPayload } from '@ferry/core';
import { AccountService } from '@ferry/engine';
import { rentalsPath } from '@ferry/sample-rentals';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { duckdbRows, startSeedReceivers, waitFor, type SeedReceivers } from '@ferry/testing';
import { seededDataDir } from './test-support/data-dir.js';

const API_KEY = 'your-api-key';
const SEED_QUERY = {
  scopes: [{ column: 'street_address' }, { column: 'asking_rent', aggregate: 'Avg' }],
  filters: [
    { column: 'msa', filter: { equals: 'Seattle, WA' } },
    { column: 'bed', filter: { in: [1, 2, 3] } },
  ],
  limit: 10000,
};

let dataDir: string;
let ferry: FerryRuntime;
let receivers: SeedReceivers;

const config = () =>
  defineConfig({ dataDir, server: { port: 0 }, logLevel: 'silent', notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } } });

async function post(path: string, body: unknown, key: string | null = API_KEY): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${ferry.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function get(path: string, key: string | null = API_KEY): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${ferry.url}${path}`, { headers: key ? { 'x-api-key': key } : {} });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}


beforeAll(async () => {
  dataDir = await seededDataDir('ferry-serve-');
  receivers = await startSeedReceivers();
  ferry = await startFerry(config(), API_KEY);
});

afterAll(async () => {
  await ferry?.stop();
  await receivers?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the seed round trip on a real server', () => {
  const exportAndWait = async (format: 'csv' | 'jsonl', path: string) => {
    const submitted = await post('/dataset/export', {
      dataset: SEED_QUERY,
      webhookURL: `${receivers.url}${path}`,
      name: 'Seattle Rental Data Export',
      format,
    });
    expect(submitted.status).toBe(201);
    expect(Object.keys(submitted.json)).toEqual(['queryUUID']);
    const queryUUID = submitted.json.queryUUID as string;
    expect(queryUUID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const hook = await waitFor('the webhook', () => receivers.received.find((r) => r.body.queryUUID === queryUUID));
    return { queryUUID, hook };
  };

  it('delivers a CSV export the seed 001 handler accepts, downloadable and equal to DuckDB', async () => {
    const { queryUUID, hook } = await exportAndWait('csv', '/webhook/dataset-export');
    expect(hook.status).toBe(200); // the seed handler verified hmacSignature against JSON.stringify(payload)
    const payload = WebhookPayload.parse(hook.body);
    expect(Object.keys(hook.body)).toEqual(['queryUUID', 'name', 'format', 'payload', 'hmacSignature', 'gcsBlob', 'requestedOn', 'completedOn']);
    expect(payload).toMatchObject({ queryUUID, name: 'Seattle Rental Data Export', format: 'csv', payload: SEED_QUERY });
    expect(hook.headers['sha256-hmac-signature']).toBe(payload.hmacSignature);
    const expires = Date.parse(payload.gcsBlob.expires) - Date.parse(payload.completedOn);
    expect(expires).toBe(30 * 24 * 3_600_000);
    expect(Date.parse(payload.completedOn) - Date.parse(payload.requestedOn)).toBe(payload.gcsBlob.timeTakenMs);

    const download = await fetch(payload.gcsBlob.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/gzip');
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="Seattle-Rental-Data-Export.csv.gz"');
    const csv = gunzipSync(Buffer.from(await download.arrayBuffer()));
    const file = join(dataDir, 'downloaded.csv');
    await writeFile(file, csv);

    const ours = await duckdbRows(
      `SELECT street_address, avg_asking_rent FROM read_csv('${file}', header = true, columns = {'street_address': 'VARCHAR', 'avg_asking_rent': 'DOUBLE'})`,
    );
    const direct = await duckdbRows(
      `SELECT street_address, avg(asking_rent) FROM read_parquet('${rentalsPath(dataDir)}')
       WHERE msa = 'Seattle, WA' AND bed IN (1, 2, 3) GROUP BY street_address ORDER BY street_address LIMIT 10000`,
    );
    expect(ours.length).toBe(payload.gcsBlob.numberRows);
    expect(ours.length).toBeGreaterThan(10);
    expect(ours).toEqual(direct);

    const status = await get(`/dataset/export/${queryUUID}`);
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({ queryUUID, state: 'completed', numberRows: ours.length, download: { url: payload.gcsBlob.url, downloads: 1 } });
  });

  it('delivers a JSONL export the seed 003 verifyWebhook handler accepts', async () => {
    const { hook } = await exportAndWait('jsonl', '/your-webhook');
    expect(hook.status).toBe(200); // verified from the SHA256-HMAC-Signature header
    const payload = WebhookPayload.parse(hook.body);
    const res = await fetch(payload.gcsBlob.url);
    const lines = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8').trim().split('\n');
    expect(lines.length).toBe(payload.gcsBlob.numberRows);
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual(['street_address', 'avg_asking_rent']);
    expect(res.headers.get('content-disposition')).toContain('.jsonl.gz');
  });

  it('serves byte ranges and refuses tampered and unknown links', async () => {
    const { queryUUID } = await exportAndWait('csv', '/webhook/ranges');
    const status = await get(`/dataset/export/${queryUUID}`);
    const url = (status.json.download as { url: string; bytes: number }).url;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    const part = await fetch(url, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${whole.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(10, 20));
    const tampered = url.slice(0, -2) + (url.endsWith('AA') ? 'BB' : 'AA');
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('TOKEN_INVALID');
  });

  it('keeps exports private to their account', async () => {
    const { queryUUID } = await exportAndWait('csv', '/webhook/private');
    expect((await get(`/dataset/export/${queryUUID}`)).status).toBe(200);
    const accounts = ferry.container.resolve(AccountService);
    const other = await accounts.createAccount('other');
    const { key } = await accounts.createKey(other.id);
    expect((await get(`/dataset/export/${queryUUID}`, key)).status).toBe(404);
    expect((await get(`/dataset/export/${queryUUID}`, 'unknown-key-123')).status).toBe(403);
    expect((await get(`/dataset/export/${queryUUID}`, null)).status).toBe(403);
  });
});

describe('request validation', () => {
  const valid = { dataset: SEED_QUERY, webhookURL: 'https://127.0.0.1/x', name: 'n', format: 'csv' };
  const expect400 = async (body: unknown, code: string, path?: string) => {
    const res = await post('/dataset/export', body);
    expect(res.status, JSON.stringify(res.json)).toBe(400);
    expect(res.json.error).toMatchObject({ code, ...(path ? { path } : {}) });
  };

  it('answers 403 for a missing or unknown key, before looking at the body', async () => {
    expect((await post('/dataset/export', valid, null)).status).toBe(403);
    expect((await post('/dataset/export', valid, 'not-a-real-key')).status).toBe(403);
    // A body that would fail validation says nothing to a caller without a key: 403, not 400.
    for (const key of [null, 'not-a-real-key']) {
      expect((await post('/dataset/export', { ...valid, format: 'xlsx' }, key)).status).toBe(403);
      expect((await post('/dataset/export', '{"dataset": ', key)).status).toBe(403);
    }
  });

  it('gives each bad field its 400 and path', async () => {
    const ok = { ...valid, webhookURL: `${receivers.url}/webhook/dataset-export` };
    await expect400({ ...ok, format: 'xlsx' }, 'VALIDATION_FAILED', 'format');
    await expect400({ ...ok, name: '' }, 'VALIDATION_FAILED', 'name');
    await expect400({ ...ok, dataset: { ...SEED_QUERY, scopes: [{ column: 'unit_id' }] } }, 'UNKNOWN_COLUMN', 'dataset.scopes[0].column');
    await expect400({ ...ok, dataset: { ...SEED_QUERY, scopes: [{ column: 'asking_rent', aggregate: 'Mode' }] } }, 'VALIDATION_FAILED', 'dataset.scopes[0].aggregate');
    await expect400({ ...ok, dataset: { ...SEED_QUERY, filters: [{ column: 'bed', filter: { in: [] } }] } }, 'VALIDATION_FAILED', 'dataset.filters[0].filter.in');
    await expect400({ ...ok, dataset: { ...SEED_QUERY, filters: [{ column: 'bed', filter: { equals: 'two' } }] } }, 'TYPE_MISMATCH', 'dataset.filters[0].filter.equals');
    await expect400({ ...ok, dataset: undefined }, 'VALIDATION_FAILED', 'dataset');
    await expect400('{"dataset": ', 'VALIDATION_FAILED');
  });

  it('refuses webhook targets that are not public https', async () => {
    for (const url of [
      'http://93.184.216.34/x',
      'https://localhost/x',
      'https://127.0.0.2/x',
      'https://10.1.2.3/x',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/x',
      'https://user:pass@93.184.216.34/x',
      'ftp://93.184.216.34/x',
      'not a url',
    ]) {
      await expect400({ ...valid, webhookURL: url }, 'INVALID_WEBHOOK_URL', 'webhookURL');
    }
    // FERRY_WEBHOOK_ALLOW_CIDRS=127.0.0.1/32 lets a self-hoster target this machine, over http too.
    expect((await post('/dataset/export', { ...valid, webhookURL: `${receivers.url}/webhook/dataset-export` })).status).toBe(201);
  });

  it('treats a hostile filter value as data', async () => {
    const hostile = "Seattle, WA'); DROP TABLE rentals; --";
    const res = await post('/dataset/export', {
      ...valid,
      webhookURL: `${receivers.url}/webhook/dataset-export`,
      dataset: { ...SEED_QUERY, filters: [{ column: 'msa', filter: { equals: hostile } }] },
    });
    expect(res.status).toBe(201);
    const queryUUID = res.json.queryUUID as string;
    const done = await waitFor('the export', async () => {
      const s = await get(`/dataset/export/${queryUUID}`);
      return s.json.state === 'completed' || s.json.state === 'failed' ? s.json : undefined;
    });
    expect(done).toMatchObject({ state: 'completed', numberRows: 0 });
    expect((await duckdbRows(`SELECT count(*)::INT FROM read_parquet('${rentalsPath(dataDir)}')`))[0]![0]).toBeGreaterThan(900_000);
  });
});

describe('ferry listen', () => {
  it('verifies a real webhook and downloads its file', async () => {
    const { listen } = await import('./listen.js');
    const out = join(dataDir, 'listened');
    const lines: string[] = [];
    const receiver = await listen({ port: 0, host: '127.0.0.1', apiKey: API_KEY, outDir: out, log: (l) => lines.push(l) });
    try {
      const res = await post('/dataset/export', { dataset: { ...SEED_QUERY, limit: 3 }, webhookURL: `${receiver.url}/hook`, name: 'listened', format: 'csv' });
      expect(res.status).toBe(201);
      const saved = await waitFor('the saved file', () => lines.find((l) => l.includes('saved:')));
      const file = saved.split('saved:')[1]!.trim();
      const rows = gunzipSync(await (await import('node:fs/promises')).readFile(file)).toString('utf8').trim().split('\n');
      expect(rows).toHaveLength(4);
      expect(lines.join('\n')).toContain('3 rows');
    } finally {
      await receiver.close();
    }
  });
});
