import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { FerryError, assertSafeKey, measure, type ByteRange, type Logger, type ObjectRef, type ObjectStore, type StoredObject } from '@ferry/core';

const PLUGIN = 'store:local';
/** What a put is writing: `<key>.partial`, renamed over the key once complete. */
const PARTIAL = '.partial';
/** A writer that died (kill -9, power loss) leaves its `.partial`; this long untouched, it is swept. */
export const DEFAULT_STALE_AFTER_MS = 3_600_000;

export interface LocalStoreOptions {
  root: string;
  /**
   * How long a `.partial` file (or metadata whose object never arrived) may go unwritten before the
   * sweep takes it for the leftover of a writer that died. A live put writes as its data arrives.
   */
  staleAfterMs?: number;
}

/**
 * Objects as files under `root`. A put writes `<key>.partial`, fsyncs it, renames it over the key
 * and fsyncs the directory, so a crash leaves either the old object or the new one, never half.
 *
 * The temp name is derived from the key, so a retry of a crashed attempt replaces its leftover
 * rather than adding another. Two puts of one key at once (a worker that lost its lease while its
 * successor started) each write their own inode: the later one unlinks the earlier's temp, and a
 * put whose temp is no longer its own fails with CONFLICT instead of renaming someone else's file.
 * Leftovers nobody retries are removed by `sweep` (at start, then every `staleAfterMs`).
 */
export class LocalStore implements ObjectStore {
  readonly name = 'local';
  readonly capabilities = { signedUrls: false, rangeReads: true, multipart: false };
  readonly #root: string;
  readonly #staleAfterMs: number;
  #sweeping: Promise<SweepResult> | undefined;
  #timer: NodeJS.Timeout | undefined;
  // Content types live beside the objects so a restart still serves them right.
  static readonly META_SUFFIX = '.ferry-meta.json';

  constructor(options: LocalStoreOptions) {
    this.#root = resolve(options.root);
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  }

  #path(key: string): string {
    assertSafeKey(key, PLUGIN);
    const path = join(this.#root, ...key.split('/'));
    if (!path.startsWith(this.#root + sep)) throw new FerryError('INVALID_KEY', 'object key escapes the store root', { plugin: PLUGIN });
    if (path.endsWith(PARTIAL)) throw new FerryError('INVALID_KEY', `object keys may not end in "${PARTIAL}" (the local store's temp files do)`, { plugin: PLUGIN, path: ['key'] });
    return path;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    const path = this.#path(key);
    const temp = `${path}${PARTIAL}`;
    const measured = measure(body, opts.signal);
    let handle: FileHandle | undefined;
    let inode: number | undefined;
    const create = async (): Promise<FileHandle> => {
      const created = await createExclusive(temp);
      inode = (await created.stat()).ino;
      return created;
    };
    try {
      // The temp file appears with the first bytes, so its mtime says when it was last written.
      for await (const chunk of measured.body) {
        handle ??= await create();
        await handle.write(chunk);
      }
      handle ??= await create();
      await handle.sync();
      await handle.close();
      handle = undefined;
      const sha256 = measured.result.sha256();
      await writeMeta(`${path}${LocalStore.META_SUFFIX}`, { contentType: opts.contentType, sha256 });
      if (!(await isInode(temp, inode!))) {
        throw new FerryError('CONFLICT', `a newer put of "${key}" replaced this one`, { plugin: PLUGIN });
      }
      await rename(temp, path);
      await syncDir(dirname(path));
      return { key, size: measured.result.size, contentType: opts.contentType, sha256 };
    } catch (err) {
      await handle?.close().catch(() => undefined);
      // Only our own temp file: a concurrent put of the same key may own the name by now.
      if (inode !== undefined && (await isInode(temp, inode))) await unlink(temp).catch(() => undefined);
      await this.#removeEmptyDirs(dirname(path));
      throw storageError(err, key);
    }
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

  /** Removes the object, and the folders it leaves empty (an export's folder goes with its last file). */
  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await rm(path, { force: true });
    await rm(`${path}${LocalStore.META_SUFFIX}`, { force: true });
    await this.#removeEmptyDirs(dirname(path));
  }

  /**
   * Remove what writers that died left behind: `.partial` files and metadata without an object,
   * untouched for `staleAfterMs`, then folders left empty. Safe beside live writers in other
   * processes: a live put's temp file is younger than that, and a put whose folder is removed
   * under it creates the folder again.
   */
  sweep(now = Date.now()): Promise<SweepResult> {
    this.#sweeping ??= this.#sweep(now).finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  /** Sweep now, then every `staleAfterMs` until `close`. */
  startSweeping(logger: Logger): void {
    const run = (): void => {
      this.sweep()
        .then((r) => {
          if (r.files > 0 || r.dirs > 0) logger.info({ store: this.#root, files: r.files, bytes: r.bytes, dirs: r.dirs }, 'removed files left by interrupted writes');
        })
        .catch((err: unknown) => logger.warn({ err: String(err) }, 'sweeping the local store failed'));
    };
    run();
    this.#timer ??= setInterval(run, this.#staleAfterMs).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping?.catch(() => undefined);
  }

  async #sweep(now: number): Promise<SweepResult> {
    const result: SweepResult = { files: 0, bytes: 0, dirs: 0 };
    const cutoff = now - this.#staleAfterMs;
    const visit = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      const names = new Set(entries.map((e) => e.name));
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          await visit(full);
          continue;
        }
        const leftover = entry.name.endsWith(PARTIAL) || (entry.name.endsWith(LocalStore.META_SUFFIX) && !names.has(entry.name.slice(0, -LocalStore.META_SUFFIX.length)));
        if (!leftover) continue;
        const info = await stat(full).catch(() => null);
        if (!info || info.mtimeMs > cutoff) continue;
        if (await unlink(full).then(() => true, () => false)) {
          result.files++;
          result.bytes += info.size;
        }
      }
      if (dir !== this.#root && (await rmdir(dir).then(() => true, () => false))) result.dirs++;
    };
    await visit(this.#root);
    return result;
  }

  /** rmdir only removes an empty folder, so a concurrent put's temp file keeps its folder alive. */
  async #removeEmptyDirs(dir: string): Promise<void> {
    while (dir.startsWith(this.#root + sep)) {
      try {
        await rmdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
      }
      dir = dirname(dir);
    }
  }
}

export interface SweepResult {
  files: number;
  bytes: number;
  dirs: number;
}

/**
 * Create `temp` for writing, replacing what a crashed (or superseded) attempt left. A concurrent
 * delete may remove the folder between mkdir and open (ENOENT), and a concurrent put of the same
 * key may create the file in between (EEXIST): both just go round again.
 */
async function createExclusive(temp: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dirname(temp), { recursive: true });
    await unlink(temp).catch(() => undefined);
    try {
      return await open(temp, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'EEXIST') || attempt >= 10) throw err;
    }
  }
}

async function isInode(path: string, inode: number): Promise<boolean> {
  return (await stat(path).catch(() => null))?.ino === inode;
}

/** A full disk is reported as such (the export's failure reason says so), and is worth a retry. */
function storageError(err: unknown, key: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new FerryError('STORAGE_FULL', `disk full: the local store has no space left for "${key}"`, { plugin: PLUGIN, retryable: true, cause: err });
  }
  return err;
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
