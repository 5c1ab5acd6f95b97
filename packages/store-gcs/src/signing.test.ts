import { readFileSync } from 'node:fs';
import { guardLoopbackOnly, type LoopbackGuard } from '@ferry/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Storage } from '@google-cloud/storage';
import { FerryError, silentLogger } from '@ferry/core';
import { gcsStore, signV4 } from './index.js';

interface Vector {
  description: string;
  bucket: string;
  object: string;
  method: 'GET';
  expiration: number;
  timestamp: string;
  expectedUrl: string;
  headers?: Record<string, string>;
  queryParameters?: Record<string, string>;
  urlStyle?: 'VIRTUAL_HOSTED_STYLE' | 'BUCKET_BOUND_DOMAIN';
  bucketBoundDomain?: string;
  scheme: 'https' | 'http';
}

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const vectors = (fixture('v4-signatures.json') as { signingV4Tests: Vector[] }).signingV4Tests;
const account = fixture('service-account.json') as { client_email: string; private_key: string };
const credentials = { client_email: account.client_email, private_key: account.private_key };

let guard: LoopbackGuard;
beforeAll(() => {
  guard = guardLoopbackOnly();
});
afterAll(() => {
  guard.restore();
  expect(guard.attempts).toEqual([]);
});
afterEach(() => {
  vi.useRealTimers();
});

/** Signing is local (RSA with the key); the default endpoint is only a string in the URL here. */
function atVectorTime(v: Vector): void {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date(v.timestamp) });
}

describe('GCS V4 signing against googleapis/conformance-tests vectors', () => {
  it('has the vectors', () => {
    expect(vectors.length).toBe(10);
  });

  for (const v of vectors) {
    it(`signV4: ${v.description}`, async () => {
      atVectorTime(v);
      const storage = new Storage({ credentials, projectId: 'dummy-project-id' });
      const url = await signV4(storage.bucket(v.bucket).file(v.object), {
        method: v.method,
        expiresInSec: Number(v.expiration),
        ...(v.headers ? { extensionHeaders: v.headers } : {}),
        ...(v.queryParameters ? { queryParams: v.queryParameters } : {}),
        ...(v.urlStyle === 'VIRTUAL_HOSTED_STYLE' ? { virtualHostedStyle: true } : {}),
        ...(v.urlStyle === 'BUCKET_BOUND_DOMAIN' ? { cname: `${v.scheme}://${v.bucketBoundDomain}` } : {}),
      });
      if (!v.queryParameters) {
        expect(url).toBe(v.expectedUrl);
      } else {
        // The library appends caller query parameters after its own, the vectors list them sorted. Order in
        // the URL is not signed (the canonical query is sorted), so compare the signature and the parameter set.
        const [got, want] = [new URL(url), new URL(v.expectedUrl)];
        expect(got.origin + got.pathname).toBe(want.origin + want.pathname);
        expect(got.searchParams.get('X-Goog-Signature')).toBe(want.searchParams.get('X-Goog-Signature'));
        expect([...got.searchParams].sort()).toEqual([...want.searchParams].sort());
      }
    });
  }

  for (const v of vectors.filter((x) => !x.headers && !x.queryParameters && !x.urlStyle)) {
    it(`the store's signUrl reproduces: ${v.description}`, async () => {
      atVectorTime(v);
      const store = await gcsStore.create(gcsStore.options.parse({ bucket: v.bucket, credentials }), { logger: silentLogger, dataDir: '/nonexistent' });
      expect(await store.signUrl?.(v.object, { expiresInSec: Number(v.expiration) })).toBe(v.expectedUrl);
    });
  }

  it('refuses more than 7 days with a clear error and accepts exactly 7 days', async () => {
    const store = await gcsStore.create(gcsStore.options.parse({ bucket: 'test-bucket', credentials }), { logger: silentLogger, dataDir: '/nonexistent' });
    const err = await store.signUrl?.('a/b.csv', { expiresInSec: 30 * 86400 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('UNSUPPORTED');
    expect((err as FerryError).message).toMatch(/7 days/);
    expect(await store.signUrl?.('a/b.csv', { expiresInSec: 7 * 86400 })).toContain('X-Goog-Expires=604800');
  });

  it('signs the download name into response-content-disposition', async () => {
    const store = await gcsStore.create(gcsStore.options.parse({ bucket: 'test-bucket', prefix: 'p/', credentials }), { logger: silentLogger, dataDir: '/nonexistent' });
    const url = new URL((await store.signUrl?.('a/b.csv.gz', { expiresInSec: 60, downloadName: 'sales 2024.csv.gz' })) ?? '');
    expect(url.pathname).toBe('/test-bucket/p/a/b.csv.gz');
    expect(url.searchParams.get('response-content-disposition')).toBe(`attachment; filename="sales 2024.csv.gz"; filename*=UTF-8''sales%202024.csv.gz`);
  });
});
