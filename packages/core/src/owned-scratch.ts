import { readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

// In core because the engine and plugins (DuckDB sources, the snapshot engine) all need it and
// plugins may import only @ferry/core.

export interface OwnedScratchOptions {
  /** Names of this kind of directory start with it (`source-`); siblings with other names are left alone. */
  prefix: string;
  /** Entries of the base left by older releases (loose spill files): removed once stale. */
  legacy?: (name: string) => boolean;
  /** How often the owner touches its `.owner` file. */
  beatMs?: number;
  /** An owner file untouched this long belonged to a process that is gone. */
  staleMs?: number;
}

interface Owner {
  pid: number;
  /** Boot and PID namespace: PIDs compare only within one. Null where the OS does not say. */
  ns: string | null;
}

const OWNER_FILE = '.owner';
const DEFAULT_BEAT_MS = 30_000;
const DEFAULT_STALE_MS = 600_000;
/** Directories this process owns now, whichever instance created them. */
const live = new Set<string>();
const me: Owner = { pid: process.pid, ns: pidNamespace() };

/**
 * A scratch directory owned by this process, under a base that other processes may share (`ferry
 * api` and `ferry worker` on one data dir, containers on one volume). A process killed with -9
 * cannot clean up, so each start sweeps the siblings whose owner is gone: an owner in this PID
 * namespace whose PID is no longer running is gone at once; any other owner (another container or
 * machine, whose PID means nothing here) when it stopped touching its `.owner` file `staleMs` ago.
 * Sweeps repeat every `staleMs`, for owners that die while this process runs.
 */
export class OwnedScratch {
  #timer: NodeJS.Timeout | undefined;
  #lastSweep = Date.now();

  private constructor(
    readonly base: string,
    readonly path: string,
    private readonly options: Required<Omit<OwnedScratchOptions, 'legacy'>> & Pick<OwnedScratchOptions, 'legacy'>,
  ) {}

  static async create(base: string, options: OwnedScratchOptions): Promise<OwnedScratch> {
    const opts = { beatMs: DEFAULT_BEAT_MS, staleMs: DEFAULT_STALE_MS, ...options };
    const path = join(base, `${opts.prefix}${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(path, { recursive: true });
    await writeFile(join(path, OWNER_FILE), JSON.stringify(me));
    live.add(path);
    const scratch = new OwnedScratch(base, path, opts);
    await scratch.sweep();
    scratch.#timer = setInterval(() => void scratch.#beat(), opts.beatMs).unref();
    return scratch;
  }

  /** Remove the siblings left by owners that are gone; returns their names. */
  async sweep(now = Date.now()): Promise<string[]> {
    this.#lastSweep = now;
    const removed: string[] = [];
    const entries = await readdir(this.base).catch(() => [] as string[]);
    for (const name of entries) {
      const full = join(this.base, name);
      if (live.has(full)) continue;
      const dead = name.startsWith(this.options.prefix)
        ? await this.#ownerGone(full, now)
        : this.options.legacy?.(name) === true && (await newestChange(full)) < now - this.options.staleMs;
      if (dead && (await rm(full, { recursive: true, force: true }).then(() => true, () => false))) removed.push(name);
    }
    return removed;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    live.delete(this.path);
    await rm(this.path, { recursive: true, force: true });
  }

  async #beat(): Promise<void> {
    const now = new Date();
    await utimes(join(this.path, OWNER_FILE), now, now).catch(() => undefined);
    if (now.getTime() - this.#lastSweep >= this.options.staleMs) await this.sweep(now.getTime()).catch(() => undefined);
  }

  async #ownerGone(dir: string, now: number): Promise<boolean> {
    // A torn or empty owner file (its writer is mid-write or was killed) counts as none: `.catch`, not
    // a second `then` argument, so a JSON.parse failure is caught too.
    const owner = await readFile(join(dir, OWNER_FILE), 'utf8')
      .then((text) => JSON.parse(text) as Owner)
      .catch(() => null);
    if (owner && owner.ns !== null && owner.ns === me.ns) {
      // Our own PID on a directory this process does not own: an earlier process had our PID.
      if (owner.pid === me.pid || !running(owner.pid)) return true;
    }
    // No owner file yet (being created) or an owner we cannot ask: judge by its heartbeat.
    const touched = owner ? await stat(join(dir, OWNER_FILE)).then((s) => s.mtimeMs, () => 0) : await newestChange(dir);
    return touched < now - this.options.staleMs;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The boot and PID namespace this process runs in (Linux); null elsewhere. */
function pidNamespace(): string | null {
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return null;
  }
}

/** When an entry (a file, or a directory and what is directly in it) last changed; 0 when gone. */
async function newestChange(path: string): Promise<number> {
  const info = await stat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of await readdir(path).catch(() => [] as string[])) {
    newest = Math.max(newest, await stat(join(path, name)).then((s) => s.mtimeMs, () => 0));
  }
  return newest;
}
