import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import { FerryError, assertSafeKey, measure, type ByteRange, type ObjectRef, type ObjectStore, type StoredObject } from '@ferry/core';

const PLUGIN = 'store:local';

export interface LocalStoreOptions {
  root: string;
}

/**
 * Objects as files under `root`. A put writes `<key>.<random>.partial`, fsyncs it, renames it over
 * the key and fsyncs the directory, so a crash leaves either the old object or the new one, never half.
 */
export class LocalStore implements ObjectStore {
  readonly name = 'local';
  readonly capabilities = { signedUrls: false, rangeReads: true, multipart: false };
  readonly #root: string;
  // Content types live beside the objects so a restart still serves them right.
  static readonly META_SUFFIX = '.ferry-meta.json';

  constructor(options: LocalStoreOptions) {
    this.#root = resolve(options.root);
  }

  #path(key: string): string {
    assertSafeKey(key, PLUGIN);
    const path = join(this.#root, ...key.split('/'));
    if (!path.startsWith(this.#root + sep)) throw new FerryError('INVALID_KEY', 'object key escapes the store root', { plugin: PLUGIN });
    return path;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.partial`;
    const handle = await open(temp, 'wx');
    const measured = measure(body, opts.signal);
    try {
      for await (const chunk of measured.body) await handle.write(chunk);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlink(temp).catch(() => {});
      throw err;
    }
    await handle.close();
    const sha256 = measured.result.sha256();
    await writeMeta(`${path}${LocalStore.META_SUFFIX}`, { contentType: opts.contentType, sha256 });
    await rename(temp, path);
    await syncDir(dirname(path));
    return { key, size: measured.result.size, contentType: opts.contentType, sha256 };
  }

  async get(key: string, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<StoredObject> {
    const path = this.#path(key);
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new FerryError('NOT_FOUND', `no object at "${key}"`, { plugin: PLUGIN });
      throw err;
    });
    const meta = await readMeta(`${path}${LocalStore.META_SUFFIX}`);
    const { range } = opts;
    const body = createReadStream(path, range ? { start: range.start, end: range.end, signal: opts.signal } : { signal: opts.signal });
    const size = range ? Math.max(0, Math.min(range.end, info.size - 1) - range.start + 1) : info.size;
    return { body, size, contentType: meta?.contentType ?? 'application/octet-stream' };
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await rm(path, { force: true });
    await rm(`${path}${LocalStore.META_SUFFIX}`, { force: true });
  }
}

async function writeMeta(path: string, meta: { contentType: string; sha256: string }): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(JSON.stringify(meta));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readMeta(path: string): Promise<{ contentType: string } | null> {
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return null;
  try {
    return JSON.parse(await handle.readFile('utf8')) as { contentType: string };
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
