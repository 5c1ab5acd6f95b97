import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { FerryError, collectBytes, type ObjectStore, type StoreCapabilities } from '@ferry/core';

export interface StoreConformanceOptions {
  name: string;
  /** A fresh, empty store for each test. */
  create: () => Promise<ObjectStore>;
  /**
   * What the plugin declares (its definition's `capabilities`): the store it creates must report the
   * same. Each capability's case runs its half for what the store reports.
   */
  capabilities?: StoreCapabilities;
  /** Plugin-specific cases; each makes its own store with `createStore` (tests run in any order). */
  additionalTests?: (createStore: () => Promise<ObjectStore>) => void;
}

type Capability = keyof StoreCapabilities;

/**
 * One case per capability: the store under test runs the half for what it declares, so every store
 * runs it (no skips), and a store without the capability is checked to refuse or fall back.
 */
function byCapability(capability: Capability, name: string, fresh: () => Promise<ObjectStore>, cases: { with: (s: ObjectStore) => Promise<void>; without: (s: ObjectStore) => Promise<void> }): void {
  it(`${name} (by ${capability})`, async () => {
    const s = await fresh();
    await (s.capabilities[capability] ? cases.with(s) : cases.without(s));
  });
}

const MiB = 1024 * 1024;

let collectGarbage: (() => void) | undefined;
/** V8 lets a running process turn on its `gc()` function; a context made after that carries it. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * `chunks`, and how many of their bytes the store still holds once `at` bytes have gone into it:
 * the chunks it was given that a full collection cannot free then. A store that buffered the body
 * holds all of them; a streaming one the few it has not sent or copied yet. Only the suite's own
 * chunks count, so nothing else in the process (an in-process fake backend, sockets' queues, the
 * garbage a streaming store leaves behind) moves the figure.
 */
function probed(chunks: AsyncIterable<Uint8Array>, at: number): { chunks: AsyncIterable<Uint8Array>; held: () => number | undefined } {
  let held: number | undefined;
  const given: Array<WeakRef<Uint8Array>> = [];
  return {
    held: () => held,
    chunks: (async function* () {
      let sent = 0;
      for await (const chunk of chunks) {
        if (held === undefined && sent >= at) {
          // A WeakRef keeps its target alive until the current run of microtasks ends, and a store
          // that writes synchronously (better-sqlite3) pulls every chunk within one: leave it first.
          await new Promise((resolve) => setImmediate(resolve));
          collectGarbage ??= exposeGc();
          collectGarbage();
          held = given.reduce((bytes, ref) => bytes + (ref.deref()?.byteLength ?? 0), 0);
        }
        given.push(new WeakRef(chunk));
        sent += chunk.byteLength;
        yield chunk;
      }
    })(),
  };
}

/** A deterministic body of `size` bytes, produced lazily in 256 KiB chunks, and its sha256. */
function body(size: number, seed = 1): { chunks: AsyncIterable<Uint8Array>; sha256: string } {
  const chunk = 256 * 1024;
  const make = (i: number) => {
    const n = Math.min(chunk, size - i * chunk);
    const buf = Buffer.allocUnsafe(n);
    for (let j = 0; j < n; j++) buf[j] = (i * 31 + j * 7 + seed) & 0xff;
    return buf;
  };
  const count = Math.ceil(size / chunk);
  const hash = createHash('sha256');
  for (let i = 0; i < count; i++) hash.update(make(i));
  return {
    sha256: hash.digest('hex'),
    chunks: (async function* () {
      for (let i = 0; i < count; i++) yield make(i);
    })(),
  };
}

async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected a FerryError ${code}`).toBeInstanceOf(FerryError);
  expect((err as FerryError).code).toBe(code);
}

/** The contract every ObjectStore meets, ours and third-party, run unchanged. */
export function describeStoreConformance(options: StoreConformanceOptions): void {
  describe(`store conformance: ${options.name}`, () => {
    let store: ObjectStore;
    const fresh = async () => {
      store = await options.create();
      return store;
    };

    for (const size of [0, 1, 5 * MiB + 1, 64 * MiB]) {
      it(`round-trips ${size} bytes exactly, streaming`, async () => {
        const s = await fresh();
        const { chunks, sha256 } = body(size);
        const streamed = probed(chunks, 48 * MiB);
        const ref = await s.put(`round-trip/${size}.bin`, streamed.chunks, { contentType: 'application/octet-stream' });
        expect(ref.size).toBe(size);
        expect(ref.sha256).toBe(sha256);
        const got = await s.get(ref.key);
        expect(got.size).toBe(size);
        expect(got.contentType).toBe('application/octet-stream');
        expect(await sha256Of(got.body)).toEqual({ sha256, size });
        if (size >= 64 * MiB) {
          // 48 MiB in, a store that buffered the body holds all 48; a streaming one at most what its
          // part or chunk buffers take (S3's parts in flight, GCS's upload chunk), well under that.
          expect(streamed.held()).toBeDefined();
          expect(streamed.held()!).toBeLessThan(40 * MiB);
        }
      });
    }

    it('overwrites an existing key with the new content', async () => {
      const s = await fresh();
      await s.put('over/write.txt', body(100, 1).chunks, { contentType: 'text/plain' });
      const second = body(50, 2);
      const ref = await s.put('over/write.txt', second.chunks, { contentType: 'text/csv' });
      expect(ref.size).toBe(50);
      const got = await s.get('over/write.txt');
      expect(got.contentType).toBe('text/csv');
      expect((await sha256Of(got.body)).sha256).toBe(second.sha256);
    });

    for (const key of ['../escape', 'a/../../b', '/absolute', 'back\\slash', 'nul\0byte', '', 'a//b', './a']) {
      it(`rejects the unsafe key ${JSON.stringify(key)}`, async () => {
        const s = await fresh();
        await expectCode(s.put(key, body(1).chunks, { contentType: 'text/plain' }), 'INVALID_KEY');
        await expectCode(s.get(key), 'INVALID_KEY');
        await expectCode(s.delete(key), 'INVALID_KEY');
      });
    }

    it('reports a missing key as NOT_FOUND', async () => {
      const s = await fresh();
      await expectCode(s.get('missing/object.bin'), 'NOT_FOUND');
    });

    it('deletes idempotently', async () => {
      const s = await fresh();
      await s.put('del/me.bin', body(10).chunks, { contentType: 'application/octet-stream' });
      await s.delete('del/me.bin');
      await s.delete('del/me.bin');
      await expectCode(s.get('del/me.bin'), 'NOT_FOUND');
    });

    it('leaves no visible object when a put is aborted', async () => {
      const s = await fresh();
      const abort = new AbortController();
      const source = (async function* () {
        yield Buffer.alloc(64 * 1024, 1);
        abort.abort(new Error('client went away'));
        yield Buffer.alloc(64 * 1024, 2);
      })();
      await expect(s.put('aborted/object.bin', source, { contentType: 'text/plain', signal: abort.signal })).rejects.toThrow();
      await expectCode(s.get('aborted/object.bin'), 'NOT_FOUND');
    });

    it('leaves no visible object when the body fails mid-way', async () => {
      const s = await fresh();
      const source = (async function* () {
        yield Buffer.alloc(1024, 1);
        throw new Error('source broke');
      })();
      await expect(s.put('failed/object.bin', source, { contentType: 'text/plain' })).rejects.toThrow('source broke');
      await expectCode(s.get('failed/object.bin'), 'NOT_FOUND');
    });

    it('reports the capabilities its plugin definition declares', async () => {
      const s = await fresh();
      if (options.capabilities) expect(s.capabilities).toEqual(options.capabilities);
      expect(Object.values(s.capabilities).every((v) => typeof v === 'boolean')).toBe(true);
    });

    byCapability('rangeReads', 'serves exactly the byte range asked for, or refuses it as UNSUPPORTED, never with the whole object', fresh, {
      with: async (s) => {
        const data = Buffer.from('0123456789abcdef');
        await s.put('range/data.txt', (async function* () { yield data; })(), { contentType: 'text/plain' });
        const got = await s.get('range/data.txt', { range: { start: 3, end: 9 } });
        expect(got.size).toBe(7);
        expect((await collectBytes(got.body)).toString()).toBe('3456789');
      },
      without: async (s) => {
        await s.put('range/data.txt', (async function* () { yield Buffer.from('0123456789abcdef'); })(), { contentType: 'text/plain' });
        const got = await s.get('range/data.txt', { range: { start: 3, end: 9 } }).catch((e: unknown) => e);
        if (got instanceof FerryError) expect(got.code).toBe('UNSUPPORTED');
        else expect((await collectBytes((got as { body: AsyncIterable<Uint8Array> }).body)).toString()).toBe('3456789');
      },
    });

    byCapability('signedUrls', 'signs URLs that return the same bytes and expire, or offers none (downloads are then streamed)', fresh, {
      with: async (s) => {
        expect(s.signUrl).toBeTypeOf('function');
        const sign = s.signUrl!.bind(s);
        const { chunks, sha256 } = body(4096);
        await s.put('signed/data.bin', chunks, { contentType: 'application/octet-stream' });
        const url = await sign('signed/data.bin', { expiresInSec: 60 });
        const res = await fetch(url);
        expect(res.status).toBe(200);
        expect(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex')).toBe(sha256);
        const expired = await sign('signed/data.bin', { expiresInSec: 1 });
        await new Promise((r) => setTimeout(r, 2_100));
        expect((await fetch(expired)).status).toBeGreaterThanOrEqual(400);
      },
      without: async (s) => {
        await s.put('signed/data.bin', body(16).chunks, { contentType: 'application/octet-stream' });
        if (s.signUrl) await expectCode(s.signUrl('signed/data.bin', { expiresInSec: 60 }), 'UNSUPPORTED');
        else expect(s.signUrl).toBeUndefined();
      },
    });

    options.additionalTests?.(fresh);
  });
}
