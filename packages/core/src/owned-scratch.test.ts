import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OwnedScratch } from './owned-scratch.js';

const STALE_MS = 600_000;
/** A whole second, so file systems store it exactly and `mtimeMs` compares without rounding. */
const LONG_AGO = new Date(1_700_000_000_000);

let base: string;
const children: ChildProcess[] = [];
const scratches: OwnedScratch[] = [];

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'ferry-owned-scratch-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const scratch of scratches.splice(0)) await scratch.close();
  await rm(base, { recursive: true, force: true });
});

async function open(options: Partial<Parameters<typeof OwnedScratch.create>[1]> = {}, where = base): Promise<OwnedScratch> {
  const scratch = await OwnedScratch.create(where, { prefix: 'source-', ...options });
  scratches.push(scratch);
  return scratch;
}

/** A real process that stays up until the test ends (or kills it). */
function liveChild(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** The PID of a process that has run and exited (and been reaped): nobody answers to it now. */
async function deadPid(): Promise<number> {
  const child = liveChild();
  await once(child, 'spawn');
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  return child.pid!;
}

/** The boot and PID namespace this process wrote into its own owner file. */
async function ourNamespace(scratch: OwnedScratch): Promise<string | null> {
  return (JSON.parse(await readFile(join(scratch.path, '.owner'), 'utf8')) as { ns: string | null }).ns;
}

/** A sibling directory as another process would have left it. */
async function sibling(name: string, owner: { pid: number; ns: string | null } | string | null, touched?: Date): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'spill-0.tmp'), 'x');
  if (owner !== null) await writeFile(join(dir, '.owner'), typeof owner === 'string' ? owner : JSON.stringify(owner));
  if (touched) {
    if (owner !== null) await utimes(join(dir, '.owner'), touched, touched);
    await utimes(join(dir, 'spill-0.tmp'), touched, touched);
    await utimes(dir, touched, touched);
  }
  return dir;
}

describe('OwnedScratch: its own directory', () => {
  it('creates a directory named by prefix, PID and a random part, with an owner file naming this process', async () => {
    const scratch = await open();
    expect(scratch.base).toBe(base);
    expect(basename(scratch.path)).toMatch(new RegExp(`^source-${process.pid}-[0-9a-f]{8}$`));
    expect(join(base, basename(scratch.path))).toBe(scratch.path);
    const owner = JSON.parse(await readFile(join(scratch.path, '.owner'), 'utf8')) as { pid: number; ns: string | null };
    expect(owner.pid).toBe(process.pid);
    // On Linux the namespace is the boot id and the PID namespace link.
    if (process.platform === 'linux') expect(owner.ns).toMatch(/^[0-9a-f-]{36}\/pid:\[\d+\]$/);
    expect(Object.keys(owner).sort()).toEqual(['ns', 'pid']);
  });

  it('creates a missing base, and two instances get different directories', async () => {
    const nested = join(base, 'a', 'b');
    const one = await open({}, nested);
    const two = await open({}, nested);
    expect(one.path).not.toBe(two.path);
    expect((await readdir(nested)).sort()).toEqual([basename(one.path), basename(two.path)].sort());
  });

  it('removes its directory and everything in it on close', async () => {
    const scratch = await open();
    await writeFile(join(scratch.path, 'spill.tmp'), 'data');
    await scratch.close();
    expect(existsSync(scratch.path)).toBe(false);
    expect(await readdir(base)).toEqual([]);
  });

  it('never sweeps a directory another instance in this process still owns, however stale it looks', async () => {
    const first = await open();
    await utimes(join(first.path, '.owner'), LONG_AGO, LONG_AGO);
    const second = await open();
    expect(await second.sweep(Date.now() + 10 * STALE_MS)).toEqual([]);
    expect(existsSync(first.path)).toBe(true);
    expect(existsSync(second.path)).toBe(true);
  });

  it('stops protecting a directory once closed: a later copy with this PID is an earlier process’s leftover', async () => {
    const first = await open();
    const second = await open();
    const ns = await ourNamespace(first);
    await first.close();
    await sibling(basename(first.path), { pid: process.pid, ns });
    expect(await second.sweep()).toEqual(ns === null ? [] : [basename(first.path)]);
  });
});

describe('OwnedScratch: sweeping siblings in this PID namespace', () => {
  it('keeps a sibling whose owner is still running, and removes it once that process is gone', async () => {
    const scratch = await open();
    const ns = await ourNamespace(scratch);
    if (ns === null) return expect(process.platform).not.toBe('linux');
    const child = liveChild();
    await once(child, 'spawn');
    const dir = await sibling('source-owned-by-child', { pid: child.pid!, ns });
    expect(await scratch.sweep()).toEqual([]);
    expect(existsSync(dir)).toBe(true);

    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    // The owner file is fresh: only the dead PID says the directory is abandoned.
    expect(await scratch.sweep()).toEqual(['source-owned-by-child']);
    expect(existsSync(dir)).toBe(false);
  });

  it('removes a dead owner’s directory on start, before the new one is handed out', async () => {
    const probe = await open();
    const ns = await ourNamespace(probe);
    if (ns === null) return expect(process.platform).not.toBe('linux');
    const dir = await sibling('source-crashed', { pid: await deadPid(), ns });
    await open();
    expect(existsSync(dir)).toBe(false);
  });

  it('treats a sibling carrying this process’s own PID (not one it owns) as an earlier process’s', async () => {
    const scratch = await open();
    const ns = await ourNamespace(scratch);
    if (ns === null) return expect(process.platform).not.toBe('linux');
    await sibling('source-reused-pid', { pid: process.pid, ns });
    expect(await scratch.sweep()).toEqual(['source-reused-pid']);
  });

  it('removes a directory whose owner PID runs but stopped beating: the PID was reused by another process', async () => {
    const scratch = await open();
    const ns = await ourNamespace(scratch);
    if (ns === null) return expect(process.platform).not.toBe('linux');
    const child = liveChild();
    await once(child, 'spawn');
    await sibling('source-reused-by-child', { pid: child.pid!, ns }, LONG_AGO);
    const t = LONG_AGO.getTime();
    expect(await scratch.sweep(t + STALE_MS)).toEqual([]);
    expect(await scratch.sweep(t + STALE_MS + 1)).toEqual(['source-reused-by-child']);
  });
});

describe('OwnedScratch: owners it cannot ask are judged by their heartbeat', () => {
  const elsewhere = { pid: 1, ns: '00000000-0000-0000-0000-000000000000/pid:[1]' };

  it('keeps an owner in another namespace until its owner file is more than staleMs old', async () => {
    const scratch = await open();
    await sibling('source-other-container', elsewhere, LONG_AGO);
    const t = LONG_AGO.getTime();
    expect(await scratch.sweep(t + STALE_MS)).toEqual([]);
    expect(await scratch.sweep(t + STALE_MS + 1)).toEqual(['source-other-container']);
    expect(existsSync(join(base, 'source-other-container'))).toBe(false);
  });

  it('honours a custom staleMs', async () => {
    const scratch = await open({ staleMs: 1_000 });
    await sibling('source-other-container', elsewhere, LONG_AGO);
    const t = LONG_AGO.getTime();
    expect(await scratch.sweep(t + 1_000)).toEqual([]);
    expect(await scratch.sweep(t + 1_001)).toEqual(['source-other-container']);
  });

  it('judges an owner whose OS gave no namespace by its heartbeat, even with a dead PID', async () => {
    const scratch = await open();
    await sibling('source-no-ns', { pid: await deadPid(), ns: null }, LONG_AGO);
    const t = LONG_AGO.getTime();
    expect(await scratch.sweep(t + STALE_MS)).toEqual([]);
    expect(await scratch.sweep(t + STALE_MS + 1)).toEqual(['source-no-ns']);
  });

  it('judges the owner file, not the files beside it', async () => {
    const scratch = await open();
    const dir = await sibling('source-busy-files', elsewhere, LONG_AGO);
    // Spill files written just now do not keep a directory whose owner stopped beating.
    await writeFile(join(dir, 'spill-1.tmp'), 'new');
    expect(await scratch.sweep(Date.now() + 1)).toEqual(['source-busy-files']);
  });

  it('judges a directory with no owner file yet (still being created) by its newest entry', async () => {
    const scratch = await open();
    const dir = await sibling('source-being-created', null, LONG_AGO);
    const t = LONG_AGO.getTime();
    expect(await scratch.sweep(t + STALE_MS)).toEqual([]);
    const fresh = new Date(t + 60_000);
    await utimes(join(dir, 'spill-0.tmp'), fresh, fresh);
    // The directory itself is old, but a file in it changed later: that counts as a sign of life.
    expect(await scratch.sweep(t + STALE_MS + 1)).toEqual([]);
    expect(await scratch.sweep(fresh.getTime() + STALE_MS + 1)).toEqual(['source-being-created']);
  });

  it.each([
    ['torn', '{"pid": 12'],
    ['empty', ''],
  ])('judges a %s owner file (its writer mid-write or killed) as no owner file instead of failing', async (_what, text) => {
    const scratch = await open();
    await sibling('source-torn-owner', text, LONG_AGO);
    expect(await scratch.sweep(LONG_AGO.getTime() + STALE_MS)).toEqual([]);
    expect(await scratch.sweep(LONG_AGO.getTime() + STALE_MS + 1)).toEqual(['source-torn-owner']);
  });

  it('starts beside a sibling whose owner file is empty', async () => {
    await sibling('source-starting-now', '');
    const scratch = await open();
    expect(existsSync(scratch.path)).toBe(true);
    expect(existsSync(join(base, 'source-starting-now'))).toBe(true);
  });
});

describe('OwnedScratch: entries that are not its kind', () => {
  it('leaves siblings with another prefix alone, whatever their owner', async () => {
    const scratch = await open();
    await sibling('snapshot-abc', { pid: await deadPid(), ns: await ourNamespace(scratch) }, LONG_AGO);
    await sibling('Source-abc', { pid: process.pid, ns: await ourNamespace(scratch) }, LONG_AGO);
    expect(await scratch.sweep(Date.now() + 10 * STALE_MS)).toEqual([]);
    expect((await readdir(base)).sort()).toEqual(['Source-abc', basename(scratch.path), 'snapshot-abc'].sort());
  });

  it('removes legacy entries once older than staleMs, and only those the predicate names', async () => {
    const scratch = await open({ legacy: (name) => name.startsWith('duckdb_temp_') });
    const file = join(base, 'duckdb_temp_block-1.block');
    await writeFile(file, 'spill');
    await utimes(file, LONG_AGO, LONG_AGO);
    await sibling('duckdb_temp_dir', null, LONG_AGO);
    await writeFile(join(base, 'notes.txt'), 'keep');
    await utimes(join(base, 'notes.txt'), LONG_AGO, LONG_AGO);
    const t = LONG_AGO.getTime();
    expect(await scratch.sweep(t + STALE_MS)).toEqual([]);
    expect((await scratch.sweep(t + STALE_MS + 1)).sort()).toEqual(['duckdb_temp_block-1.block', 'duckdb_temp_dir']);
    expect((await readdir(base)).sort()).toEqual([basename(scratch.path), 'notes.txt'].sort());
  });

  it('keeps a legacy directory while anything directly in it is fresh', async () => {
    const scratch = await open({ legacy: () => true });
    const dir = await sibling('old-spill-dir', null, LONG_AGO);
    const fresh = new Date(LONG_AGO.getTime() + 60_000);
    await utimes(join(dir, 'spill-0.tmp'), fresh, fresh);
    expect(await scratch.sweep(LONG_AGO.getTime() + STALE_MS + 1)).toEqual([]);
    expect(await scratch.sweep(fresh.getTime() + STALE_MS + 1)).toEqual(['old-spill-dir']);
  });

  it('keeps entries the legacy predicate does not claim, and everything when there is none', async () => {
    const withPredicate = await open({ legacy: (name) => name === 'claimed' });
    await writeFile(join(base, 'unclaimed'), 'x');
    await utimes(join(base, 'unclaimed'), LONG_AGO, LONG_AGO);
    expect(await withPredicate.sweep(Date.now() + STALE_MS)).toEqual([]);
    const without = await open();
    expect(await without.sweep(Date.now() + STALE_MS)).toEqual([]);
    expect(existsSync(join(base, 'unclaimed'))).toBe(true);
  });

  it('finds nothing to sweep when the base has gone', async () => {
    const scratch = await open();
    await rm(base, { recursive: true, force: true });
    expect(await scratch.sweep()).toEqual([]);
  });
});

describe('OwnedScratch: heartbeat', () => {
  /** Poll until `probe` holds; the heartbeat runs on its own timer. */
  async function until(probe: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('touches its owner file every beatMs, so other processes see it alive', async () => {
    const scratch = await open({ beatMs: 20 });
    await utimes(join(scratch.path, '.owner'), LONG_AGO, LONG_AGO);
    await until(async () => (await stat(join(scratch.path, '.owner'))).mtimeMs > LONG_AGO.getTime());
    expect((await stat(join(scratch.path, '.owner'))).mtimeMs).toBeGreaterThan(Date.now() - STALE_MS);
  });

  it('sweeps again every staleMs, for owners that die while it runs', async () => {
    await open({ beatMs: 20, staleMs: 100 });
    const dir = await sibling('source-died-later', { pid: 1, ns: 'another-machine/pid:[1]' }, LONG_AGO);
    await until(async () => !existsSync(dir));
    expect(existsSync(dir)).toBe(false);
  });
});
