import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FerryError, collectBytes } from '@ferry/core';
import { guardLoopbackOnly, waitFor, type LoopbackGuard } from '@ferry/testing';
import { GcsStore, gcsStore, type GcsStoreOptions } from './index.js';
import { TEST_SERVICE_ACCOUNT, authenticatedStorage, startFakeGcsFor, type FakeGcs } from './test-support/testing.js';

/*
 * What production meets at GCS and the store must get through: OAuth tokens minted from the
 * service-account key (and refused keys, revoked tokens, denied buckets), chunks GCS persisted only
 * in part, 429/503 answers, an expired upload session, and bytes corrupted on the way in or out.
 * The fake answers like GCS; every assertion is about what the store does or what is stored.
 */

const BUCKET = 'ferry-faults';
const KiB = 1024;
const MiB = 1024 * KiB;
const credentials = { client_email: TEST_SERVICE_ACCOUNT.client_email, private_key: TEST_SERVICE_ACCOUNT.private_key };

let guard: LoopbackGuard;
let fake: FakeGcs;
let run = 0;

beforeAll(() => {
  guard = guardLoopbackOnly();
});
afterAll(() => {
  guard?.restore();
  // Nothing may reach for Google (the token endpoint included) while the fake is what answers.
  expect(guard?.attempts).toEqual([]);
});

beforeEach(async () => {
  fake = await startFakeGcsFor(BUCKET, { requireAuth: true });
});
afterEach(async () => {
  await fake?.stop();
});

/** The store as configured, its client authenticating against the fake's token endpoint. */
function storeWith(extra: Partial<Record<keyof GcsStoreOptions, unknown>> = {}): GcsStore {
  const options = gcsStore.options.parse({
    bucket: BUCKET,
    apiEndpoint: fake.endpoint,
    credentials,
    projectId: 'ferry-tests',
    prefix: `run-${++run}/`,
    // Small chunks: a few MiB make several requests, so faults land in the middle of an upload.
    uploadChunkBytes: 256 * KiB,
    ...extra,
  });
  return new GcsStore(options, authenticatedStorage(options, fake));
}

/** `size` deterministic bytes in uneven pieces, and their sha256. */
function data(size: number, seed = 1): { bytes: Buffer; sha256: string } {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function* pieces(bytes: Buffer, piece = 100_003): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += piece) yield bytes.subarray(at, at + piece);
}

async function stored(store: GcsStore, key: string): Promise<string> {
  return createHash('sha256').update(await collectBytes((await store.get(key)).body)).digest('hex');
}

async function failure(promise: Promise<unknown>): Promise<FerryError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

const SECRETS = [TEST_SERVICE_ACCOUNT.private_key.split('\n')[1]!, 'PRIVATE KEY', 'ya29.'];

function expectNoSecrets(err: FerryError): void {
  const text = [err.message, JSON.stringify(err.toJSON()), String(err.stack)].join('\n');
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('credentials', () => {
  it('gets an access token for the service-account key and sends it: a bucket that requires one works', async () => {
    const store = storeWith();
    const { bytes, sha256 } = data(MiB + 17);
    const ref = await store.put('auth/one.bin', pieces(bytes), { contentType: 'application/octet-stream' });
    expect(ref).toMatchObject({ size: MiB + 17, sha256 });
    expect(await stored(store, 'auth/one.bin')).toBe(sha256);
    await store.delete('auth/one.bin');
    expect((await failure(store.get('auth/one.bin'))).code).toBe('NOT_FOUND');
  });

  it('gets a new token when the one it holds expires', async () => {
    await fake.stop();
    fake = await startFakeGcsFor(BUCKET, { requireAuth: true, tokenLifetimeSec: 1 });
    const store = storeWith();
    await store.put('auth/short-lived.txt', pieces(Buffer.from('first token')), { contentType: 'text/plain' });
    // Past the first token's life: the fake refuses it now, so this read needs a fresh one.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await collectBytes((await store.get('auth/short-lived.txt')).body)).toString()).toBe('first token');
  });

  it('reports a key the token endpoint refuses as UNAUTHORIZED, without the key in the error', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const store = storeWith({ credentials: { client_email: TEST_SERVICE_ACCOUNT.client_email, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } });
    for (const attempt of [() => store.put('auth/x.txt', pieces(Buffer.from('x')), { contentType: 'text/plain' }), () => store.get('auth/x.txt')]) {
      const err = await failure(attempt());
      expect(err.code).toBe('UNAUTHORIZED');
      expect(err.message).toContain('invalid_grant');
      expectNoSecrets(err);
    }
  });

  it('reports a bucket that denies the account (403) and a revoked token (401) as UNAUTHORIZED, without the token', async () => {
    const store = storeWith();
    await store.put('auth/kept.txt', pieces(Buffer.from('kept')), { contentType: 'text/plain' });
    fake.denyAccess(true);
    const calls = [
      () => store.get('auth/kept.txt'),
      () => store.put('auth/new.txt', pieces(Buffer.from('new')), { contentType: 'text/plain' }),
      () => store.delete('auth/kept.txt'),
    ];
    for (const attempt of calls) {
      const err = await failure(attempt());
      expect(err.code).toBe('UNAUTHORIZED');
      expect(err.message).toContain('HTTP 403');
      expectNoSecrets(err);
    }
    fake.denyAccess(false);
    fake.revokeTokens();
    const revoked = await failure(store.get('auth/kept.txt'));
    expect(revoked.code).toBe('UNAUTHORIZED');
    expect(revoked.message).toContain('HTTP 401');
    expectNoSecrets(revoked);
  });
});

describe('resumable uploads through faults', () => {
  it('resends what GCS did not persist of a chunk (a short 308), and stores every byte', async () => {
    const store = storeWith();
    const { bytes, sha256 } = data(2 * MiB + 123);
    fake.persistShort(4, 100_000);
    const ref = await store.put('faults/short.bin', pieces(bytes), { contentType: 'application/octet-stream' });
    expect(ref.sha256).toBe(sha256);
    expect(await stored(store, 'faults/short.bin')).toBe(sha256);
  });

  it('retries a session start, chunks, reads and a delete answered 503 or 429', async () => {
    const store = storeWith();
    const { bytes, sha256 } = data(MiB + 5);
    fake.failNext('start', 1, 429);
    fake.failNext('upload', 1, 503);
    await store.put('faults/flaky.bin', pieces(bytes), { contentType: 'application/octet-stream' });
    fake.failNext('metadata', 1, 503);
    fake.failNext('media', 1, 429);
    expect(await stored(store, 'faults/flaky.bin')).toBe(sha256);
    fake.failNext('delete', 1, 503);
    await store.delete('faults/flaky.bin');
    expect((await failure(store.get('faults/flaky.bin'))).code).toBe('NOT_FOUND');
  }, 120_000);

  it('fails an upload whose session expired (410) as TRANSIENT, shows no object, and the next put succeeds', async () => {
    const store = storeWith();
    const { bytes, sha256 } = data(2 * MiB);
    const startedUploads = () => fake.requests.filter((r) => r.method === 'PUT' && /upload_id=/.test(r.url)).length;
    const body = (async function* () {
      yield bytes.subarray(0, 600 * KiB);
      // Once GCS has a chunk of this session, the session expires (as after a week).
      await waitFor('the first chunk', () => (startedUploads() > 0 ? true : undefined), 30_000);
      fake.expireSessions();
      yield bytes.subarray(600 * KiB);
    })();
    const err = await failure(store.put('faults/expired.bin', body, { contentType: 'application/octet-stream' }));
    expect(err.code).toBe('TRANSIENT');
    expect((await failure(store.get('faults/expired.bin'))).code).toBe('NOT_FOUND');
    await store.put('faults/expired.bin', pieces(bytes), { contentType: 'application/octet-stream' });
    expect(await stored(store, 'faults/expired.bin')).toBe(sha256);
  });
});

describe('integrity (crc32c, MD5)', () => {
  it.each([
    ['a resumable upload', {}],
    ['a one-request (multipart) upload', { resumableThresholdBytes: 4 * MiB }],
  ])('refuses %s corrupted on the way in, stores nothing, and stores it right when put again', async (_label, extra) => {
    const store = storeWith(extra);
    const { bytes, sha256 } = data(MiB + 3);
    fake.corruptNextUpload();
    const err = await failure(store.put('integrity/in.bin', pieces(bytes), { contentType: 'application/octet-stream' }));
    // A damaged transfer is worth another try, not a failed export.
    expect(err.code).toBe('TRANSIENT');
    expect((await failure(store.get('integrity/in.bin'))).code).toBe('NOT_FOUND');
    await store.put('integrity/in.bin', pieces(bytes), { contentType: 'application/octet-stream' });
    expect(await stored(store, 'integrity/in.bin')).toBe(sha256);
  });

  it('fails a whole-object read whose bytes do not match the stored crc32c', async () => {
    const store = storeWith();
    const { bytes, sha256 } = data(512 * KiB);
    await store.put('integrity/out.bin', pieces(bytes), { contentType: 'application/octet-stream' });
    fake.corruptNextDownload();
    const read = await store.get('integrity/out.bin');
    const err = await failure(collectBytes(read.body));
    expect(err.code).toBe('TRANSIENT');
    expect(await stored(store, 'integrity/out.bin')).toBe(sha256);
  });
});
