import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError, collectBytes, silentLogger } from '@ferry/core';
import { describeStoreConformance, guardLoopbackOnly, waitFor, type LoopbackGuard } from '@ferry/testing';
import { GcsStore, gcsStore, type GcsStoreOptions } from './index.js';
import { startFakeGcs, type FakeGcs, type RecordedRequest } from './test-support/fake-gcs-server.js';
import { authenticatedStorage } from './test-support/testing.js';
import { publicKeyOf } from './test-support/v4-verify.js';

const BUCKET = 'ferry-test-bucket';
/** What the suite is run with; the plugin must declare the same (checked below). */
const CAPABILITIES = { signedUrls: true, rangeReads: true, multipart: true };
const MiB = 1024 * 1024;
// Google's published, inactive test service account: signing works offline and the fake server can verify.
const account = JSON.parse(readFileSync(new URL('./fixtures/service-account.json', import.meta.url), 'utf8')) as { client_email: string; private_key: string };
const credentials = { client_email: account.client_email, private_key: account.private_key };

let server: FakeGcs;
let guard: LoopbackGuard;
let stores = 0;

beforeAll(async () => {
  guard = guardLoopbackOnly();
  // Like GCS, the server asks for OAuth tokens, which the store mints from the service-account key.
  server = await startFakeGcs({ bucket: BUCKET, signer: { clientEmail: account.client_email, publicKey: publicKeyOf(account.private_key) }, requireAuth: true });
});
afterAll(async () => {
  await server?.stop();
  guard?.restore();
  // Fails the file if anything so much as tried to leave the machine, even if the error was swallowed.
  expect(guard?.attempts).toEqual([]);
});

async function makeStore(extra: Partial<Record<keyof GcsStoreOptions, unknown>> = {}): Promise<GcsStore> {
  const options = gcsStore.options.parse({
    bucket: BUCKET,
    apiEndpoint: server.endpoint,
    credentials,
    projectId: 'dummy-project-id',
    prefix: `run-${++stores}/`,
    ...extra,
  });
  return new GcsStore(options, authenticatedStorage(options, server));
}

function bytes(size: number, fill = 7): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let left = size; left > 0; left -= MiB) yield Buffer.alloc(Math.min(MiB, left), fill);
  })();
}

async function recording(fn: () => Promise<unknown>): Promise<RecordedRequest[]> {
  const from = server.requests.length;
  await fn();
  return server.requests.slice(from);
}

const isResumableStart = (r: RecordedRequest) => r.method === 'POST' && r.url.includes('uploadType=resumable');
const isMultipart = (r: RecordedRequest) => r.method === 'POST' && r.url.includes('uploadType=multipart');

describeStoreConformance({
  name: 'gcs (local protocol server)',
  create: () => makeStore(),
  capabilities: CAPABILITIES,
  additionalTests: () => {
    it('stores .gz objects as application/gzip WITHOUT Content-Encoding: gzip, so Range and checksums hold', async () => {
      const store = await makeStore();
      const gz = Buffer.from('1f8b0800000000000003cb48cdc9c95728cf2fca49e102002d3b08af0c000000', 'hex');
      const reqs = await recording(() => store.put('exports/data.csv.gz', (async function* () { yield gz; })(), { contentType: 'application/gzip' }));
      const start = reqs.find(isResumableStart);
      // The library moves contentType from the session metadata into X-Upload-Content-Type.
      expect(start?.headers['x-upload-content-type']).toBe('application/gzip');
      expect(start?.uploadMetadata).toBeDefined();
      expect(start?.uploadMetadata).not.toHaveProperty('contentEncoding');
      for (const r of reqs) expect(r.headers['content-encoding'] ?? '').not.toMatch(/gzip/);
      const got = await store.get('exports/data.csv.gz', { range: { start: 0, end: 1 } });
      expect(got.contentType).toBe('application/gzip');
      expect([...(await collectBytes(got.body))]).toEqual([0x1f, 0x8b]);
    });

    it('streams uploads through one resumable session by default', async () => {
      const store = await makeStore();
      const reqs = await recording(() => store.put('big/file.bin', bytes(6 * MiB), { contentType: 'application/octet-stream' }));
      expect(reqs.filter(isResumableStart)).toHaveLength(1);
      const puts = reqs.filter((r) => r.method === 'PUT' && r.url.includes('upload_id='));
      expect(puts.length).toBeGreaterThanOrEqual(1);
      expect(puts.at(-1)?.headers['content-range']).toMatch(/^bytes 0-/);
      expect(reqs.filter(isMultipart)).toHaveLength(0);
    });

    it('sends bodies below resumableThresholdBytes in one multipart request, larger ones resumably', async () => {
      const store = await makeStore({ resumableThresholdBytes: 2 * MiB });
      const small = await recording(() => store.put('t/small.csv', bytes(MiB + 5), { contentType: 'text/csv' }));
      expect(small.filter(isMultipart)).toHaveLength(1);
      expect(small.filter(isResumableStart)).toHaveLength(0);
      expect(small.find(isMultipart)?.uploadMetadata?.contentType).toBe('text/csv');
      const got = await store.get('t/small.csv');
      expect(got.size).toBe(MiB + 5);
      expect(got.contentType).toBe('text/csv');
      const big = await recording(() => store.put('t/big.csv', bytes(3 * MiB), { contentType: 'text/csv' }));
      expect(big.filter(isResumableStart)).toHaveLength(1);
      expect((await store.get('t/big.csv')).size).toBe(3 * MiB);
    });

    it('applies the prefix to object names', async () => {
      const store = await makeStore({ prefix: 'tenant-a/exports/' });
      const reqs = await recording(() => store.put('x/y.csv', bytes(10), { contentType: 'text/csv' }));
      expect(new URL(reqs.find(isResumableStart)?.url ?? '', server.endpoint).searchParams.get('name')).toBe('tenant-a/exports/x/y.csv');
      const signed = new URL(await store.signUrl('x/y.csv', { expiresInSec: 60 }));
      expect(signed.pathname).toBe(`/${BUCKET}/tenant-a/exports/x/y.csv`);
    });

    it('serves signed URLs with the download name, and refuses a tampered one', async () => {
      const store = await makeStore();
      await store.put('sign/report.csv', bytes(5), { contentType: 'text/csv' });
      const url = await store.signUrl('sign/report.csv', { expiresInSec: 60, downloadName: 'report 2024.csv' });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain('filename="report 2024.csv"');
      const tampered = url.replace('sign%2Freport.csv', 'sign/other.csv').replace('/sign/report.csv', '/sign/other.csv');
      expect((await fetch(tampered)).status).toBe(403);
    });

    it('maps a range past the end to RANGE_NOT_SATISFIABLE and clamps an open end', async () => {
      const store = await makeStore();
      await store.put('range/short.txt', (async function* () { yield Buffer.from('abc'); })(), { contentType: 'text/plain' });
      const tail = await store.get('range/short.txt', { range: { start: 1, end: 100 } });
      expect(tail.size).toBe(2);
      expect((await collectBytes(tail.body)).toString()).toBe('bc');
      const err = await store.get('range/short.txt', { range: { start: 10, end: 20 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).code).toBe('RANGE_NOT_SATISFIABLE');
    });

    it('keeps an aborted upload as an unfinished session, never an object', async () => {
      const store = await makeStore({ uploadChunkBytes: 256 * 1024 });
      const abort = new AbortController();
      const from = server.requests.length;
      const chunkSent = () => server.requests.slice(from).some((r) => r.method === 'PUT' && r.url.includes('upload_id='));
      const source = (async function* () {
        yield Buffer.alloc(MiB, 1);
        // Abort once part of the body is in the session.
        await waitFor('a chunk of the session', () => (chunkSent() ? true : undefined), 30_000);
        abort.abort(new Error('stop'));
        yield Buffer.alloc(MiB, 2);
      })();
      const reqs = await recording(() =>
        expect(store.put('abort/me.bin', source, { contentType: 'application/octet-stream', signal: abort.signal })).rejects.toThrow('stop'),
      );
      await expect(store.get('abort/me.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // Asked through the protocol (a status query on the session URI), GCS says: open, not finished.
      const session = reqs.find((r) => r.method === 'PUT' && r.url.includes('upload_id='));
      const status = await fetch(new URL(session!.url, server.endpoint), { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
      expect(status.status).toBe(308);
    });
  },
});

describe('gcs errors', () => {
  it('never carries tokens or keys from a library error into the FerryError', async () => {
    const { toFerryError } = await import('./errors.js');
    const libraryError = Object.assign(new Error(`Forbidden for Bearer ya29.secret-token and ${account.private_key}`), {
      code: 403,
      config: { headers: { Authorization: 'Bearer ya29.secret-token' } },
    });
    const err = toFerryError(libraryError, 'upload of "a"');
    const text = [err.message, JSON.stringify(err.toJSON()), String(err.stack), JSON.stringify(err.cause ?? null)].join('\n');
    expect(err.code).toBe('UNAUTHORIZED');
    expect(text).not.toContain('ya29.secret-token');
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('the loopback guard refuses and records other hosts', () => {
    expect(() => net.connect({ host: '192.0.2.1', port: 9 })).toThrow(/only loopback/);
    expect(guard.attempts.splice(0)).toEqual(['192.0.2.1:9']);
  });
});

describe('gcs plugin', () => {
  it('declares the capabilities its conformance run assumes, and its stores have them', () => {
    expect(gcsStore.capabilities).toEqual(CAPABILITIES);
    expect(new GcsStore(gcsStore.options.parse({ bucket: BUCKET, apiEndpoint: server.endpoint })).capabilities).toEqual(CAPABILITIES);
  });

  it('builds a store from a config slot that works with an emulator (no tokens asked)', async () => {
    const emulator = await startFakeGcs({ bucket: BUCKET, signer: { clientEmail: account.client_email, publicKey: publicKeyOf(account.private_key) } });
    try {
      const store = await gcsStore.create(gcsStore.options.parse({ bucket: BUCKET, apiEndpoint: emulator.endpoint, projectId: 'p' }), { logger: silentLogger, dataDir: '/nonexistent' });
      await store.put('plugin/x.txt', (async function* () { yield Buffer.from('via the plugin'); })(), { contentType: 'text/plain' });
      expect((await collectBytes((await store.get('plugin/x.txt')).body)).toString()).toBe('via the plugin');
    } finally {
      await emulator.stop();
    }
  });
});

describe('gcs options', () => {
  it('accepts a config slot and applies defaults', () => {
    expect(gcsStore.options.parse({ bucket: 'my-bucket' })).toMatchObject({ bucket: 'my-bucket', prefix: '', uploadChunkBytes: 8 * MiB });
  });
  it.each([
    ['an unknown key', { bucket: 'b-ok', unknown: 1 }, ''],
    ['a bad endpoint', { bucket: 'b-ok', apiEndpoint: 'nope' }, 'apiEndpoint'],
    ['half a key', { bucket: 'b-ok', credentials: { client_email: 'x@y.z' } }, 'credentials.private_key'],
    ['two credential sources', { bucket: 'b-ok', keyFilename: '/k.json', credentials }, 'credentials'],
    ['a huge threshold', { bucket: 'b-ok', resumableThresholdBytes: 64 * MiB }, 'resumableThresholdBytes'],
    ['a chunk that is not a multiple of 256 KiB', { bucket: 'b-ok', uploadChunkBytes: 300 * 1024 }, 'uploadChunkBytes'],
    ['an empty prefix segment', { bucket: 'b-ok', prefix: 'a//b/' }, 'prefix'],
  ])('rejects %s', (_label, input, path) => {
    const res = gcsStore.options.safeParse(input);
    expect(res.success).toBe(false);
    expect(res.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});
