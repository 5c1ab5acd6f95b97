import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FerryError, collectBytes, silentLogger } from '@ferry/core';
import { describeStoreConformance, guardLoopbackOnly, type LoopbackGuard } from '@ferry/testing';
import { S3Store, s3Store, type S3StoreOptions } from './index.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHarness } from './test-support/s3rver-harness.js';

const BUCKET = 'ferry-test-bucket';
const MiB = 1024 * 1024;
let server: S3rverHarness;
let guard: LoopbackGuard;
let stores = 0;
const created: S3Store[] = [];

beforeAll(async () => {
  guard = guardLoopbackOnly();
  server = await startS3rver([BUCKET]);
});
afterAll(async () => {
  await Promise.all(created.map((s) => s.close()));
  await server?.stop();
  guard?.restore();
  // Fails the file if anything so much as tried to leave the machine, even if the error was swallowed.
  expect(guard?.attempts).toEqual([]);
});

/** Options as a config file would give them, validated by the plugin's own schema. */
async function makeStore(extra: Partial<Record<keyof S3StoreOptions, unknown>> = {}): Promise<S3Store> {
  const options = s3Store.options.parse({
    bucket: BUCKET,
    endpoint: server.endpoint,
    forcePathStyle: true,
    ...S3RVER_CREDENTIALS,
    // A fresh prefix per store gives every conformance case an empty namespace.
    prefix: `run-${++stores}/`,
    ...extra,
  });
  const store = await s3Store.create(options, { logger: silentLogger, dataDir: '/nonexistent' });
  if (!(store instanceof S3Store)) throw new Error('s3Store.create did not return an S3Store');
  created.push(store);
  return store;
}

function bytes(size: number, fill = 7): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let left = size; left > 0; left -= MiB) yield Buffer.alloc(Math.min(MiB, left), fill);
  })();
}

/** Requests recorded while `fn` ran. */
async function recording(fn: () => Promise<unknown>): Promise<S3rverHarness['requests']> {
  await server.sync();
  const from = server.requests.length;
  await fn();
  await server.sync();
  return server.requests.slice(from);
}

describeStoreConformance({
  name: 's3 (s3rver)',
  // The smallest legal parts: the suite's 5 MiB + 1 and 64 MiB cases go up as multipart uploads of
  // several parts each, with parts queued behind one another.
  create: () => makeStore({ partSizeBytes: 5 * MiB, queueSize: 2 }),
  additionalTests: () => {
    it('uploads bodies larger than the part size as a multipart upload, smaller ones with one PUT', async () => {
      const store = await makeStore({ partSizeBytes: 5 * MiB, queueSize: 2 });
      const big = await recording(() => store.put('multi/big.bin', bytes(11 * MiB), { contentType: 'application/octet-stream' }));
      const parts = big.filter((r) => r.method === 'PUT' && /[?&]partNumber=\d+/.test(r.url));
      expect(parts).toHaveLength(3); // 5 + 5 + 1 MiB
      expect(big.some((r) => r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.url))).toBe(true);
      expect(big.some((r) => r.method === 'POST' && /[?&]uploadId=/.test(r.url))).toBe(true);
      const got = await store.get('multi/big.bin');
      expect(got.size).toBe(11 * MiB);

      const small = await recording(() => store.put('multi/small.bin', bytes(MiB), { contentType: 'application/octet-stream' }));
      expect(small.filter((r) => r.method === 'PUT')).toHaveLength(1);
      expect(small.some((r) => /uploadId|partNumber/.test(r.url))).toBe(false);
    });

    it('aborts the multipart upload (no object, parts discarded) when the signal fires mid-way', async () => {
      const store = await makeStore({ partSizeBytes: 5 * MiB, queueSize: 1 });
      const abort = new AbortController();
      await server.sync();
      const from = server.requests.length;
      const source = (async function* () {
        for (let i = 0; i < 7; i++) yield Buffer.alloc(MiB, i);
        // Give the first part time to reach the server, so there is an upload id to abort.
        await new Promise((r) => setTimeout(r, 200));
        abort.abort(new Error('cancelled by user'));
        yield Buffer.alloc(MiB, 9);
      })();
      await expect(store.put('abort/multi.bin', source, { contentType: 'application/octet-stream', signal: abort.signal })).rejects.toThrow('cancelled by user');
      await expect(store.get('abort/multi.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // The store sends AbortMultipartUpload before the put rejects.
      await server.sync();
      const aborted = () => server.requests.slice(from).some((r) => r.method === 'DELETE' && /[?&]uploadId=/.test(r.url));
      expect(aborted()).toBe(true);
      expect(server.requests.slice(from).some((r) => r.method === 'POST' && /[?&]uploadId=/.test(r.url))).toBe(false);
    });

    it('aborts the multipart upload when the body fails after some parts were sent', async () => {
      const store = await makeStore({ partSizeBytes: 5 * MiB, queueSize: 2 });
      await server.sync();
      const from = server.requests.length;
      const source = (async function* () {
        for (let i = 0; i < 11; i++) yield Buffer.alloc(MiB, i);
        throw new Error('source broke');
      })();
      await expect(store.put('fail/multi.bin', source, { contentType: 'application/octet-stream' })).rejects.toThrow('source broke');
      await expect(store.get('fail/multi.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await server.sync();
      const seen = server.requests.slice(from);
      expect(seen.filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url)).length).toBeGreaterThanOrEqual(1);
      expect(seen.some((r) => r.method === 'DELETE' && /[?&]uploadId=/.test(r.url))).toBe(true);
    });

    it('applies the prefix to the stored key and strips nothing from the returned ref', async () => {
      const store = await makeStore({ prefix: 'tenant-a/exports/' });
      const reqs = await recording(() => store.put('x/y.csv', bytes(10), { contentType: 'text/csv' }));
      expect(reqs.some((r) => r.method === 'PUT' && r.url.startsWith(`/${BUCKET}/tenant-a/exports/x/y.csv`))).toBe(true);
      const raw = new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
      const res = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tenant-a/exports/x/y.csv' }));
      expect(res.ContentLength).toBe(10);
      expect(res.ContentType).toBe('text/csv');
      raw.destroy();
      const signed = new URL(await store.signUrl('x/y.csv', { expiresInSec: 60 }));
      expect(signed.pathname).toBe(`/${BUCKET}/tenant-a/exports/x/y.csv`);
    });

    it('sends the server-side encryption headers on single and multipart uploads', async () => {
      const aes = await makeStore({ serverSideEncryption: 'AES256' });
      const single = await recording(() => aes.put('sse/aes.bin', bytes(100), { contentType: 'application/octet-stream' }));
      const put = single.find((r) => r.method === 'PUT');
      expect(put?.headers['x-amz-server-side-encryption']).toBe('AES256');

      const kms = await makeStore({ serverSideEncryption: 'aws:kms', sseKmsKeyId: 'alias/ferry-exports', partSizeBytes: 5 * MiB });
      const multi = await recording(() => kms.put('sse/kms.bin', bytes(6 * MiB), { contentType: 'application/octet-stream' }));
      const create = multi.find((r) => r.method === 'POST' && /[?&]uploads/.test(r.url));
      expect(create?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(create?.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/ferry-exports');
    });

    it('never puts credential values in errors', async () => {
      const secrets = { accessKeyId: 'AKIAFERRYLEAKCHECK01', secretAccessKey: 'ferry-secret-must-not-leak', sessionToken: 'ferry-session-must-not-leak' };
      const store = await makeStore(secrets);
      const failures = await Promise.all([
        store.put('leak/a.bin', bytes(10), { contentType: 'text/plain' }).catch((e: unknown) => e),
        store.get('leak/a.bin').catch((e: unknown) => e),
        store.delete('leak/a.bin').catch((e: unknown) => e),
      ]);
      for (const err of failures) {
        expect(err).toBeInstanceOf(FerryError);
        const text = [(err as FerryError).message, JSON.stringify((err as FerryError).toJSON()), inspect(err, { depth: 10 }), String((err as Error).stack)].join('\n');
        for (const value of Object.values(secrets)) expect(text).not.toContain(value);
      }
      expect((failures[0] as FerryError).code).toBe('UNAUTHORIZED');
    });

    it('refuses signed URLs longer than 7 days with a clear error, and sets the download name', async () => {
      const store = await makeStore();
      await store.put('sign/report.csv', bytes(5), { contentType: 'text/csv' });
      const err = await store.signUrl('sign/report.csv', { expiresInSec: 30 * 24 * 3600 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).code).toBe('UNSUPPORTED');
      expect((err as FerryError).message).toMatch(/7 days/);
      await expect(store.signUrl('sign/report.csv', { expiresInSec: 7 * 24 * 3600 })).resolves.toMatch(/X-Amz-Expires=604800/);

      const url = await store.signUrl('sign/report.csv', { expiresInSec: 60, downloadName: 'report 2024.csv' });
      expect(url).toContain('response-content-disposition=');
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain('filename="report 2024.csv"');
    });

    it('maps an out-of-range read to RANGE_NOT_SATISFIABLE and reads open ranges to the end', async () => {
      const store = await makeStore();
      await store.put('range/short.txt', (async function* () { yield Buffer.from('abc'); })(), { contentType: 'text/plain' });
      const tail = await store.get('range/short.txt', { range: { start: 1, end: 100 } });
      expect((await collectBytes(tail.body)).toString()).toBe('bc');
      const err = await store.get('range/short.txt', { range: { start: 10, end: 20 } }).catch((e: unknown) => e);
      expect((err as FerryError).code).toBe('RANGE_NOT_SATISFIABLE');
    });
  },
});

describe('s3 options', () => {
  const base = { bucket: 'b-ok' };
  it('applies defaults', () => {
    const o = s3Store.options.parse(base);
    expect(o).toMatchObject({ prefix: '', region: 'us-east-1', forcePathStyle: false, partSizeBytes: 8 * MiB, queueSize: 4 });
  });
  it.each([
    [{ ...base, partSizeBytes: MiB }, 'partSizeBytes'],
    [{ ...base, unknown: 1 }, ''],
    [{ ...base, endpoint: 'not a url' }, 'endpoint'],
    [{ ...base, accessKeyId: 'x' }, 'secretAccessKey'],
    [{ ...base, sseKmsKeyId: 'k' }, 'sseKmsKeyId'],
    [{ ...base, prefix: '../up/' }, 'prefix'],
    [{ ...base, serverSideEncryption: 'aws:kms:dsse' }, 'serverSideEncryption'],
  ])('rejects %j at %s', (input, path) => {
    const res = s3Store.options.safeParse(input);
    expect(res.success).toBe(false);
    expect(res.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});
