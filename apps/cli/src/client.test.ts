import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStoreOptionsSchema } from '@ferry/store-local';
import { waitFor } from '@ferry/testing';
import {
  createFerryClient,
  DownloadError,
  ExportFailedError,
  FerryApiError,
  unwrap,
  type ExportProgress,
  type ExportRequest,
  type FerryClient,
} from '@ferry/client';
import { verifyFerryWebhook, verifySecretHeader, verifyStandardWebhook, WebhookVerificationError, type ExportCompletedWebhook } from '@ferry/client/webhooks';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { seededDataDir } from './test-support/data-dir.js';
import { startScriptedReceiver, type Hit, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const KEY = 'client-test-key-0123456789';
const ADMIN = 'client-admin-token-0123456789';

let dataDir: string;
let outDir: string;
let ferry: FerryRuntime;
let rx: ScriptedReceiver;
let client: FerryClient;

const config = (dir: string) =>
  defineConfig({
    dataDir: dir,
    server: { port: 0 },
    logLevel: 'silent',
    notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
    exports: { submitRatePerSecond: 2, submitBurst: 8, maxQueuedPerAccount: 50 },
  });

const request = (path: string, extra: Partial<ExportRequest> = {}): ExportRequest => ({
  dataset: { scopes: [{ column: 'msa' }, { column: 'asking_rent' }], limit: 2_000 },
  webhookURL: `${rx.url}${path}`,
  name: `client test ${path}`,
  format: 'csv',
  ...extra,
});

/** Data rows of a gzipped CSV file (its header line excluded). */
async function csvRows(path: string): Promise<number> {
  const text = gunzipSync(await readFile(path)).toString('utf8');
  return text.split('\n').filter((line) => line !== '').length - 1;
}

/** The one webhook a receiver path got, once it arrives. */
const webhookAt = (path: string): Promise<Hit> => waitFor(`the webhook at ${path}`, () => rx.to(path)[0]);

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return (err as WebhookVerificationError).code;
  }
  throw new Error('expected the webhook to be rejected');
}

/**
 * Where the local store keeps a file of this data dir. Only the store's own folder is searched:
 * exports still running create and remove DuckDB's scratch folders elsewhere in the data dir, and
 * a recursive readdir fails as a whole when a folder vanishes under it.
 */
async function storedFile(dataDir: string, name: string): Promise<string> {
  const root = join(dataDir, LocalStoreOptionsSchema.parse({}).root);
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  }
  throw new Error(`${name} is not stored under ${root}`);
}

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-client-');
  outDir = await mkdtemp(join(tmpdir(), 'ferry-client-out-'));
  rx = await startScriptedReceiver();
  ferry = await startFerry(config(dataDir), KEY, { adminToken: ADMIN });
  client = createFerryClient({ baseUrl: ferry.url!, apiKey: KEY });
});

afterAll(async () => {
  await ferry?.stop();
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(outDir, { recursive: true, force: true });
});

describe('submit, wait, download', () => {
  it('submits an export, reports its progress until it completes, and downloads the file it checked', async () => {
    const { queryUUID, webhookSecret } = await client.submitExport(request('/default', { dataset: { scopes: [{ column: 'msa' }, { column: 'asking_rent' }], limit: 50_000 } }));
    expect(webhookSecret).toBeUndefined();
    const seen: ExportProgress[] = [];
    const status = await client.waitForExport(queryUUID, { intervalMs: 50, onProgress: (p) => seen.push(p) });

    expect(status.state).toBe('completed');
    expect(status.numberRows).toBe(50_000);
    // Reported once per change, in the order of the lifecycle, ending with the finished export.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toEqual({ state: 'completed', rows: status.progress.rows, bytes: status.progress.bytes });
    const order = ['queued', 'running', 'completed'];
    for (let i = 1; i < seen.length; i++) {
      expect(order.indexOf(seen[i]!.state)).toBeGreaterThanOrEqual(order.indexOf(seen[i - 1]!.state));
      expect(seen[i]).not.toEqual(seen[i - 1]);
    }

    const dir = join(outDir, 'single');
    const paths = await client.downloadExport(queryUUID, { dir });
    expect(paths).toEqual([join(dir, status.files[0]!.fileName)]);
    expect((await stat(paths[0]!)).size).toBe(status.files[0]!.bytes);
    expect(await csvRows(paths[0]!)).toBe(50_000);
    // Nothing but the verified file is left behind (no temporary part files).
    expect(await readdir(dir)).toEqual([status.files[0]!.fileName]);
  });

  it('downloads every part of a split export and its manifest, each part holding the rows the status gives', async () => {
    const { queryUUID } = await client.submitExport(request('/split', { dataset: { scopes: [{ column: 'msa' }, { column: 'asking_rent' }], limit: 12_000 }, maxFileRows: 5_000 }));
    const status = await client.waitForExport(queryUUID, { intervalMs: 50 });
    expect(status.files.length).toBe(3);
    expect(status.manifestUrl).not.toBeNull();

    const dir = join(outDir, 'split');
    const paths = await client.downloadExport(queryUUID, { dir });
    expect(paths.slice(0, 3)).toEqual(status.files.map((f) => join(dir, f.fileName)));
    expect(paths).toHaveLength(4);
    const manifest = JSON.parse(await readFile(paths[3]!, 'utf8')) as { files: Array<{ name: string; sha256: string }> };
    expect(manifest.files.map((f) => f.name)).toEqual(status.files.map((f) => f.fileName));
    const rows = await Promise.all(paths.slice(0, 3).map(csvRows));
    expect(rows).toEqual(status.files.map((f) => f.rows));
    expect(rows.reduce((a, b) => a + b, 0)).toBe(12_000);
  });

  it('refuses a file whose bytes differ from the checksum the status gives, and leaves nothing of it on disk', async () => {
    const { queryUUID } = await client.submitExport(request('/corrupt'));
    const status = await client.waitForExport(queryUUID, { intervalMs: 50 });
    const file = status.files[0]!;
    // Corrupt the stored copy in place: same size, one byte changed, as a failing disk would.
    const stored = await storedFile(dataDir, file.fileName);
    const bytes = await readFile(stored);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(stored, bytes);

    const dir = join(outDir, 'corrupt');
    const err = await client.downloadExport(queryUUID, { dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err).toMatchObject({ code: 'CHECKSUM_MISMATCH', fileName: file.fileName });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a manifest that does not list the files of the export', async () => {
    const { queryUUID } = await client.submitExport(request('/bad-manifest', { maxFileRows: 1_000 }));
    const status = await client.waitForExport(queryUUID, { intervalMs: 50 });
    const listed = status.files.map((f) => f.fileName);
    const partsDir = join(await storedFile(dataDir, listed[0]!), '..');
    const manifestName = (await readdir(partsDir)).find((n) => n.endsWith('.manifest.json'));
    expect(manifestName, 'the manifest is stored beside the parts').toBeDefined();
    // One hex digit of one checksum changed: the same length, so the server still serves it whole.
    const path = join(partsDir, manifestName!);
    const original = await readFile(path, 'utf8');
    const sha = status.files[0]!.sha256;
    await writeFile(path, original.replace(sha, sha.slice(0, -1) + (sha.endsWith('0') ? '1' : '0')));

    const dir = join(outDir, 'bad-manifest');
    const err = await client.downloadExport(queryUUID, { dir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MANIFEST_MISMATCH' });
    // The parts themselves verified and stay; the manifest does not.
    expect((await readdir(dir)).sort()).toEqual([...listed].sort());
  });
});

describe("Ferry's real webhooks, verified by the receiver helpers", () => {
  it('the seed scheme (the default): verifyFerryWebhook accepts it with the API key and rejects tampering or another key', async () => {
    const { queryUUID } = await client.submitExport(request('/hook-hmac'));
    const hit = await webhookAt('/hook-hmac');
    const webhook = verifyFerryWebhook<ExportCompletedWebhook>(hit.body, hit.headers, KEY);
    expect(webhook.queryUUID).toBe(queryUUID);
    expect(webhook.gcsBlob.numberRows).toBe(2_000);
    expect(verifyFerryWebhook(Buffer.from(hit.body), new Headers(hit.headers as Record<string, string>), KEY).queryUUID).toBe(queryUUID);

    expect(rejection(() => verifyFerryWebhook(hit.body, hit.headers, 'client-test-other-key'))).toBe('INVALID_SIGNATURE');
    // The seed scheme signs the query: change what was asked for and it no longer verifies.
    expect(rejection(() => verifyFerryWebhook(hit.body.replace('"limit":2000', '"limit":2001'), hit.headers, KEY))).toBe('INVALID_SIGNATURE');
    const { 'sha256-hmac-signature': _signature, ...unsigned } = hit.headers;
    expect(rejection(() => verifyFerryWebhook(hit.body, unsigned, KEY))).toBe('MISSING_HEADER');
  });

  it('standard-webhooks: verifyStandardWebhook accepts it with the secret of the 201 and rejects tampered, stale or wrongly keyed copies', async () => {
    const { queryUUID, webhookSecret } = await client.submitExport(request('/hook-standard', { webhookScheme: 'standard-webhooks' }));
    expect(webhookSecret).toMatch(/^whsec_/);
    const hit = await webhookAt('/hook-standard');
    const webhook = verifyStandardWebhook<ExportCompletedWebhook>(hit.body, hit.headers, webhookSecret!);
    expect(webhook.queryUUID).toBe(queryUUID);

    const sentAt = Number(hit.headers['webhook-timestamp']) * 1000;
    expect(rejection(() => verifyStandardWebhook(hit.body, hit.headers, webhookSecret!, { now: sentAt + 301_000 }))).toBe('TIMESTAMP_TOO_OLD');
    expect(rejection(() => verifyStandardWebhook(hit.body, hit.headers, webhookSecret!, { now: sentAt - 301_000 }))).toBe('TIMESTAMP_TOO_NEW');
    // Unlike the seed scheme, every byte is signed: the download link cannot be swapped.
    const swapped = hit.body.replace(webhook.gcsBlob.url, 'https://attacker.example/file.csv.gz');
    expect(swapped).not.toBe(hit.body);
    expect(rejection(() => verifyStandardWebhook(swapped, hit.headers, webhookSecret!))).toBe('INVALID_SIGNATURE');
    expect(rejection(() => verifyStandardWebhook(hit.body, hit.headers, `whsec_${randomBytes(32).toString('base64')}`))).toBe('INVALID_SIGNATURE');
  });

  it('secret-header: verifySecretHeader accepts it with the secret of the 201 and rejects another secret or a missing header', async () => {
    const { queryUUID, webhookSecret } = await client.submitExport(request('/hook-secret', { webhookScheme: 'secret-header' }));
    expect(webhookSecret).toBeDefined();
    const hit = await webhookAt('/hook-secret');
    expect(verifySecretHeader<ExportCompletedWebhook>(hit.body, hit.headers, webhookSecret!).queryUUID).toBe(queryUUID);
    expect(() => verifySecretHeader(hit.headers, webhookSecret!)).not.toThrow();

    expect(rejection(() => verifySecretHeader(hit.headers, `${webhookSecret!}x`))).toBe('INVALID_SIGNATURE');
    const { 'x-webhook-secret': _secret, ...without } = hit.headers;
    expect(rejection(() => verifySecretHeader(without, webhookSecret!))).toBe('MISSING_HEADER');
  });
});

describe('errors', () => {
  it('turns an error answer into a FerryApiError with its code, field path and status', async () => {
    const err = await client.submitExport(request('/never', { dataset: { scopes: [{ column: 'no_such_column' }] } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryApiError);
    expect(err).toMatchObject({ status: 400, code: 'UNKNOWN_COLUMN', path: 'dataset.scopes[0].column', operation: 'POST /dataset/export' });
    expect((err as FerryApiError).message).toMatch(/no_such_column/);

    await expect(client.getExport('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const stranger = createFerryClient({ baseUrl: ferry.url!, apiKey: 'not-a-key-of-anyone' });
    await expect(stranger.submitExport(request('/never'))).rejects.toMatchObject({ status: 403, code: 'UNAUTHORIZED' });
    // The typed calls give the same error through unwrap.
    await expect(async () => unwrap(await client.GET('/datasets/{key}', { params: { path: { key: 'nope' } } }))).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND', operation: 'GET /datasets/nope' });
  });

  it('gives 429 RATE_LIMITED with retryAfterSeconds past the burst (an account made with the admin token)', async () => {
    const admin = createFerryClient({ baseUrl: ferry.url!, adminToken: ADMIN });
    const account = unwrap(await admin.POST('/admin/accounts', { body: { name: 'busy' } }));
    const { key } = unwrap(await admin.POST('/admin/accounts/{id}/keys', { params: { path: { id: account.id } } }));
    const busy = createFerryClient({ baseUrl: ferry.url!, apiKey: key });
    let limited: unknown;
    for (let i = 0; i < 20 && !limited; i++) {
      await busy.submitExport(request('/busy', { dataset: { scopes: [{ column: 'msa' }], limit: 1 } })).catch((e: unknown) => (limited = e));
    }
    expect(limited).toBeInstanceOf(FerryApiError);
    expect(limited).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect((limited as FerryApiError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('waits out a 503 while polling, honouring Retry-After', async () => {
    const { queryUUID } = await client.submitExport(request('/flaky'));
    let calls = 0;
    const flaky = createFerryClient({
      baseUrl: ferry.url!,
      apiKey: KEY,
      // The first status poll meets an overloaded proxy; the rest reach Ferry.
      fetch: async (req) =>
        calls++ === 0
          ? new Response(JSON.stringify({ error: { code: 'TRANSIENT', message: 'busy' } }), { status: 503, headers: { 'retry-after': '0', 'content-type': 'application/json' } })
          : fetch(req),
    });
    expect((await flaky.waitForExport(queryUUID, { intervalMs: 50 })).state).toBe('completed');
    expect(calls).toBeGreaterThan(1);
  });
});

describe('an export that is not done', () => {
  let api: FerryRuntime;
  let apiDir: string;
  let queued: FerryClient;

  beforeAll(async () => {
    // An API with no workers: its exports stay queued, so waiting can only end by abort or cancel.
    apiDir = await seededDataDir('ferry-client-api-');
    api = await startFerry(config(apiDir), KEY, { workers: false });
    queued = createFerryClient({ baseUrl: api.url!, apiKey: KEY });
  });

  afterAll(async () => {
    await api?.stop();
    await rm(apiDir, { recursive: true, force: true });
  });

  it('stops waiting when the AbortSignal fires, mid-wait or before it starts', async () => {
    const { queryUUID } = await queued.submitExport(request('/queued'));
    const controller = new AbortController();
    const seen: ExportProgress[] = [];
    const waiting = queued.waitForExport(queryUUID, {
      // A poll a minute apart: only the abort can end this wait within the test's timeout.
      intervalMs: 60_000,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        setTimeout(() => controller.abort(), 20);
      },
    });
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([{ state: 'queued', rows: 0, bytes: 0 }]);

    const calls: ExportProgress[] = [];
    await expect(queued.waitForExport(queryUUID, { signal: AbortSignal.abort(), onProgress: (p) => calls.push(p) })).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toEqual([]);
  });

  it('refuses to download before completion, and reports a cancelled export as failed with its reason', async () => {
    const { queryUUID } = await queued.submitExport(request('/cancelled'));
    await expect(queued.downloadExport(queryUUID, { dir: join(outDir, 'early') })).rejects.toMatchObject({ code: 'EXPORT_NOT_COMPLETED' });
    unwrap(await queued.POST('/dataset/export/{queryUUID}/cancel', { params: { path: { queryUUID } } }));
    const err = await queued.waitForExport(queryUUID, { intervalMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportFailedError);
    expect(err).toMatchObject({ code: 'EXPORT_FAILED', state: 'failed', queryUUID });
    expect((err as ExportFailedError).reason).toMatch(/cancel/);
    await expect(queued.downloadExport(queryUUID, { dir: join(outDir, 'cancelled') })).rejects.toBeInstanceOf(ExportFailedError);
  });
});
