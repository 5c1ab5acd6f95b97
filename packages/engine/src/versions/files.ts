import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FerryError, type ObjectStore } from '@ferry/core';
import { OwnedScratch } from '@ferry/core';

/** This process's directory for version work under each base, created (and the base swept) once. */
const roots = new Map<string, Promise<OwnedScratch>>();

/**
 * This process's own directory under `base` (`ferry-versions.<pid>-<random>`), in which each
 * publish or sync response gets a directory of its own. The first call sweeps what killed
 * processes left under `base` (see OwnedScratch), including the `ferry-versions-XXXXXX`
 * directories of releases before this one.
 */
export function scratchRoot(base: string): Promise<OwnedScratch> {
  let root = roots.get(base);
  if (!root) {
    // Earlier releases' directories are recognised only in a data dir's tmp/: in the OS temp dir a
    // name like that may be anyone's.
    const legacy = base === tmpdir() ? undefined : (name: string) => /^ferry-versions-[A-Za-z0-9]{6}$/.test(name);
    root = OwnedScratch.create(base, { prefix: 'ferry-versions.', ...(legacy ? { legacy } : {}) });
    root.catch(() => roots.delete(base));
    roots.set(base, root);
  }
  return root;
}

/**
 * Local scratch files for snapshot work: the SnapshotEngine works on files on disk, the store
 * holds the durable copies. Everything here streams; nothing holds a file in memory.
 */
export class Scratch {
  private constructor(readonly dir: string) {}

  static async create(base: string): Promise<Scratch> {
    const root = await scratchRoot(base);
    await mkdir(root.path, { recursive: true });
    return new Scratch(await mkdtemp(join(root.path, 'op-')));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async write(name: string, body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<string> {
    const file = this.path(name);
    await pipeline(Readable.from(body), createWriteStream(file), signal ? { signal } : {});
    return file;
  }

  /** Copy an object to a local file; a missing object is GONE (retention deleted it). */
  async download(store: ObjectStore, key: string, name: string, signal?: AbortSignal): Promise<string> {
    const object = await store.get(key, signal ? { signal } : {}).catch((err: unknown) => {
      if (err instanceof FerryError && err.code === 'NOT_FOUND') throw new FerryError('GONE', 'this version has been pruned; re-seed from a snapshot', { cause: err });
      throw err;
    });
    return this.write(name, object.body, signal);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function fileBody(file: string): AsyncIterable<Uint8Array> {
  return createReadStream(file);
}
