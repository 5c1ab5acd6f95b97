import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FerryError, type ObjectStore } from '@ferry/core';

/**
 * Local scratch files for snapshot work: the SnapshotEngine works on files on disk, the store
 * holds the durable copies. Everything here streams; nothing holds a file in memory.
 */
export class Scratch {
  private constructor(readonly dir: string) {}

  static async create(base: string): Promise<Scratch> {
    return new Scratch(await mkdtemp(join(base, 'ferry-versions-')));
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
