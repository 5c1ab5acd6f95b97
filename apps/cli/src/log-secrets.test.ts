import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@ferry/testing';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';
import { listeningUrl, spawnFerry, type FerryProcess } from './test-support/processes.js';

/*
 * README: "API keys are stored only as SHA-256 hashes and never logged"; docs/webhooks.md: "Secrets
 * and signatures never appear in logs"; docs/architecture.md: download tokens are redacted from
 * logged URLs. One whole run of a real `ferry serve` at `trace` level, through every path that
 * handles a secret: exports signed with each scheme, registered endpoints created and rotated,
 * deliveries (one to a failing receiver, retried), downloads by link, a second API key, the admin
 * token and the link-signing key. Then nothing any of them handed out may be in what it printed.
 */

const API_KEY = 'log-test-api-key-0001';
const ADMIN_TOKEN = 'log-test-admin-token-0001';
const LINK_KEY = 'log-test-link-signing-key-000000000001';

let dataDir: string;
let rx: ScriptedReceiver;
let ferry: FerryProcess | undefined;

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-log-secrets-');
  rx = await startScriptedReceiver();
});

afterAll(async () => {
  await ferry?.kill();
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('logs no secret, signature, API key, admin token or download token across a whole run at trace level', async () => {
  ferry = spawnFerry(['serve'], {
    FERRY_DATA_DIR: dataDir,
    FERRY_PORT: '0',
    FERRY_API_KEY: API_KEY,
    FERRY_ADMIN_TOKEN: ADMIN_TOKEN,
    FERRY_SECRET_KEY: LINK_KEY,
    FERRY_WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32',
    FERRY_LOG_LEVEL: 'trace',
  });
  const url = await listeningUrl(ferry);
  const call = async (method: string, path: string, body?: unknown, key = API_KEY) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  /** Everything handed out during the run that must never be printed, by what it is. */
  const secrets: Array<[string, string]> = [
    ['the API key', API_KEY],
    ['the admin token', ADMIN_TOKEN],
    ['the link-signing key', LINK_KEY],
  ];

  // Registered endpoints, one per endpoint scheme, both rotated: deliveries then carry two secrets.
  for (const [path, scheme] of [['/endpoint-standard', 'standard-webhooks'], ['/endpoint-header', 'secret-header']] as const) {
    const created = await call('POST', '/webhooks/endpoints', { url: `${rx.url}${path}`, events: ['export.*'], scheme });
    expect(created.status).toBe(201);
    secrets.push([`the ${scheme} endpoint secret`, created.json.secret as string]);
    const rotated = await call('POST', `/webhooks/endpoints/${created.json.id as string}/rotate-secret`);
    expect(rotated.status).toBe(200);
    secrets.push([`the rotated ${scheme} endpoint secret`, rotated.json.secret as string]);
  }

  // A second API key, used once.
  const key = await call('POST', '/keys', {});
  expect(key.status).toBe(201);
  secrets.push(['a created API key', key.json.key as string]);
  expect((await call('GET', '/dataset/export', undefined, key.json.key as string)).status).toBe(200);

  // Exports signed with each scheme, and one to a receiver that fails once.
  rx.script('/flaky', [500, 200]);
  const exports: string[] = [];
  for (const [path, extra] of [
    ['/hmac', {}],
    ['/standard', { webhookScheme: 'standard-webhooks' }],
    ['/header', { webhookScheme: 'secret-header' }],
    ['/flaky', {}],
  ] as const) {
    const res = await call('POST', '/dataset/export', {
      dataset: { scopes: [{ column: 'msa' }, { column: 'asking_rent', aggregate: 'Avg' }], limit: 5 },
      webhookURL: `${rx.url}${path}`,
      name: `logs ${path}`,
      format: 'csv',
      ...extra,
    });
    expect(res.status).toBe(201);
    exports.push(res.json.queryUUID as string);
    if (typeof res.json.webhookSecret === 'string') secrets.push([`the export webhook secret (${path})`, res.json.webhookSecret]);
  }
  await waitFor('every export webhook', () => (rx.to('/hmac').length && rx.to('/standard').length && rx.to('/header').length && rx.to('/flaky').length >= 2 ? true : undefined), 120_000);

  // Downloads by link: whole, ranged, and a tampered link.
  const { gcsBlob } = JSON.parse(rx.to('/hmac')[0]!.body) as { gcsBlob: { url: string } };
  expect((await fetch(gcsBlob.url)).status).toBe(200);
  expect((await fetch(gcsBlob.url, { headers: { range: 'bytes=0-9' } })).status).toBe(206);
  const token = new URL(gcsBlob.url).pathname.split('/').pop()!;
  expect((await fetch(gcsBlob.url.replace(token, `${token.slice(0, -2)}xx`))).status).toBe(403);
  secrets.push(['a download token', token], ['the MAC of a download token', token.split('.').pop()!]);
  await waitFor('export.downloaded at the endpoints', () => (rx.to('/endpoint-standard').some((h) => h.body.includes('export.downloaded')) ? true : undefined));
  expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);

  expect(await ferry.kill('SIGTERM')).toBe(0);

  // What the receivers were sent that proves a message: signatures and secrets in headers and bodies.
  for (const hit of rx.hits) {
    for (const [name, value] of Object.entries(hit.headers)) {
      if (name === 'webhook-signature') for (const sig of String(value).split(' ')) secrets.push([`a ${name} (${hit.path})`, sig.replace(/^v1,/, '')]);
      if (['sha256-hmac-signature', 'x-webhook-secret', 'x-webhook-secret-previous'].includes(name)) secrets.push([`a ${name} (${hit.path})`, String(value)]);
    }
    const hmac = /"hmacSignature":"([0-9a-f]{64})"/.exec(hit.body)?.[1];
    if (hmac) secrets.push([`an hmacSignature (${hit.path})`, hmac]);
    const links = hit.body.match(/\/downloads\/[A-Za-z0-9_.-]+/g) ?? [];
    for (const link of links) secrets.push([`a download token in a webhook (${hit.path})`, link.slice('/downloads/'.length)]);
  }
  // `whsec_` secrets are base64 after their prefix: that part alone is the key.
  for (const [name, value] of [...secrets]) if (value.startsWith('whsec_')) secrets.push([`${name} without its prefix`, value.slice('whsec_'.length)]);
  expect(secrets.length).toBeGreaterThan(30);
  for (const [name, value] of secrets) expect(value.length, name).toBeGreaterThanOrEqual(16);

  const output = ferry.output();
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; req?: { url?: string } });
  // The run was logged, in detail: requests (download links with their token redacted), deliveries, the retry.
  expect(lines.length).toBeGreaterThan(40);
  expect(lines.filter((l) => l.msg === 'webhook delivered').length).toBeGreaterThanOrEqual(10);
  expect(lines.some((l) => l.msg === 'webhook delivery failed; will retry')).toBe(true);
  expect(lines.some((l) => l.req?.url?.startsWith('/downloads/') && l.req.url.includes('<redacted>'))).toBe(true);

  const leaked = secrets.filter(([, value]) => output.includes(value)).map(([name]) => name);
  expect(leaked).toEqual([]);
}, 240_000);
