import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { DEFAULT_STALE_AFTER_MS, LocalStore } from './local-store.js';
import { TS_CHILD_NODE_ARGS } from '@ferry/testing/support';

const ENDLESS_PUT = fileURLToPath(new URL('./test-support/endless-put.ts', import.meta.url));
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-local-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

/** Run a put in its own process and SIGKILL it mid-write: the files are left exactly as a crash leaves them. */
async function killedMidPut(storeRoot: string, key: string): Promise<void> {
  const child = spawn(process.execPath, [...TS_CHILD_NODE_ARGS, ENDLESS_PUT, storeRoot, key], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (out.split('chunk').length < 4) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the writer did not get going: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
}

async function* bytes(...chunks: string[]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield Buffer.from(c);
}

/** A body the test releases chunk by chunk. */
function gatedBody(): { body: AsyncIterable<Uint8Array>; push(chunk: string): void; end(): void } {
  const queue: Array<string | null> = [];
  let wake: (() => void) | undefined;
  return {
    body: (async function* () {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        const next = queue.shift()!;
        if (next === null) return;
        yield Buffer.from(next);
      }
    })(),
    push: (chunk) => {
      queue.push(chunk);
      wake?.();
    },
    end: () => {
      queue.push(null);
      wake?.();
    },
  };
}

describe('local store: crashes and leftovers', () => {
  it('a put killed mid-write leaves its temp file; the retry of that key replaces it', async () => {
    const dir = join(root, 'retry');
    await killedMidPut(dir, 'exp-1/report.csv.gz');
    expect(await tree(dir)).toEqual(['exp-1', 'exp-1/report.csv.gz.partial']);
    expect((await stat(join(dir, 'exp-1/report.csv.gz.partial'))).size).toBeGreaterThan(0);

    const store = new LocalStore({ root: dir });
    const ref = await store.put('exp-1/report.csv.gz', bytes('complete'), { contentType: 'text/plain' });
    expect(ref.size).toBe(8);
    expect(await tree(dir)).toEqual(['exp-1', 'exp-1/report.csv.gz', `exp-1/report.csv.gz${LocalStore.META_SUFFIX}`]);
    expect(await readFile(join(dir, 'exp-1/report.csv.gz'), 'utf8')).toBe('complete');
  });

  it('the sweep removes what dead writers left once stale, and never a live put', async () => {
    const dir = join(root, 'sweep');
    const store = new LocalStore({ root: dir });
    await store.put('kept/file.txt', bytes('kept'), { contentType: 'text/plain' });
    await killedMidPut(dir, 'dead/file.txt');
    // Metadata written before a crash hit the rename: its object never arrived.
    await mkdir(join(dir, 'orphan'), { recursive: true });
    await writeFile(join(dir, 'orphan', `file.txt${LocalStore.META_SUFFIX}`), '{}');
    // A name from before temp names were per key.
    await writeFile(join(dir, 'kept', 'file.txt.3f9a0c1b2d4e.partial'), 'old');
    const live = gatedBody();
    const livePut = store.put('live/file.txt', live.body, { contentType: 'text/plain' });
    live.push('first ');
    while (!(await tree(dir)).includes('live/file.txt.partial')) await new Promise((r) => setTimeout(r, 10));

    // Nothing is stale yet: a sweep right after a crash keeps it all (another process may be writing).
    expect(await store.sweep()).toEqual({ files: 0, bytes: 0, dirs: 0 });
    expect(await tree(dir)).toContain('dead/file.txt.partial');

    // The live put keeps writing; the dead files stay as old as the crash made them.
    const later = Date.now() + DEFAULT_STALE_AFTER_MS + 60_000;
    const stamp = new Date(later - 1000);
    await utimes(join(dir, 'live', 'file.txt.partial'), stamp, stamp);
    const swept = await store.sweep(later);
    expect(swept).toMatchObject({ files: 3, dirs: 2 });
    expect(await tree(dir)).toEqual(['kept', 'kept/file.txt', `kept/file.txt${LocalStore.META_SUFFIX}`, 'live', 'live/file.txt.partial']);

    live.push('second');
    live.end();
    await livePut;
    expect(await readFile(join(dir, 'live/file.txt'), 'utf8')).toBe('first second');
  });

  it('of two puts of one key at once, the later wins and the earlier fails with CONFLICT', async () => {
    const dir = join(root, 'race');
    const store = new LocalStore({ root: dir });
    const early = gatedBody();
    const earlyPut = store.put('k/file.txt', early.body, { contentType: 'text/plain' });
    early.push('early ');
    while (!(await tree(dir)).includes('k/file.txt.partial')) await new Promise((r) => setTimeout(r, 10));
    await store.put('k/file.txt', bytes('late'), { contentType: 'text/plain' });
    early.push('more');
    early.end();
    const err = await earlyPut.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({ code: 'CONFLICT' });
    expect(await readFile(join(dir, 'k/file.txt'), 'utf8')).toBe('late');
    expect(await tree(dir)).toEqual(['k', 'k/file.txt', `k/file.txt${LocalStore.META_SUFFIX}`]);
  });
});

describe('local store: folders', () => {
  it('deleting the last object of a folder removes the folder, up to the root', async () => {
    const dir = join(root, 'folders');
    const store = new LocalStore({ root: dir });
    await store.put('exp/a/one.txt', bytes('1'), { contentType: 'text/plain' });
    await store.put('exp/a/two.txt', bytes('2'), { contentType: 'text/plain' });
    await store.delete('exp/a/one.txt');
    expect(await tree(dir)).toEqual(['exp', 'exp/a', 'exp/a/two.txt', `exp/a/two.txt${LocalStore.META_SUFFIX}`]);
    await store.delete('exp/a/two.txt');
    expect(await readdir(dir)).toEqual([]);
  });

  it('an aborted put leaves no folder behind', async () => {
    const dir = join(root, 'aborted');
    const store = new LocalStore({ root: dir });
    const abort = new AbortController();
    const body = (async function* () {
      yield Buffer.from('some bytes');
      abort.abort(new FerryError('ABORTED', 'cancelled'));
      yield Buffer.from('more');
    })();
    await expect(store.put('exp-9/file.csv', body, { contentType: 'text/csv', signal: abort.signal })).rejects.toThrow('cancelled');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a put into a folder whose last object is being deleted still lands', async () => {
    const dir = join(root, 'churn');
    const store = new LocalStore({ root: dir });
    for (let i = 0; i < 200; i++) {
      await store.put(`f/old-${i}.txt`, bytes('old'), { contentType: 'text/plain' });
      const [ref] = await Promise.all([store.put(`f/new-${i}.txt`, bytes('new', String(i)), { contentType: 'text/plain' }), store.delete(`f/old-${i}.txt`)]);
      expect(ref.size).toBe(3 + String(i).length);
      expect(await readFile(join(dir, 'f', `new-${i}.txt`), 'utf8')).toBe(`new${i}`);
      await store.delete(`f/new-${i}.txt`);
    }
    expect(await readdir(dir)).toEqual([]);
  });
});

/** A tmpfs of `sizeKb` (root only: elsewhere the test says why it skipped). */
function tryMountTmpfs(dir: string, sizeKb: number): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
  }
}

describe('local store: a full disk', () => {
  let disk: string;
  let skip: string | null = null;
  beforeAll(async () => {
    disk = await mkdtemp(join(tmpdir(), 'ferry-full-disk-'));
    skip = tryMountTmpfs(disk, 1024);
    if (skip) console.warn(`skipping the full-disk test: ${skip}`);
  });
  afterAll(async () => {
    if (!skip) execFileSync('umount', [disk]);
    await rm(disk, { recursive: true, force: true });
  });

  it('fails the put with STORAGE_FULL saying "disk full", and leaves nothing behind', async (ctx) => {
    if (skip) ctx.skip();
    const store = new LocalStore({ root: join(disk, 'exports') });
    const big = (async function* () {
      for (let i = 0; i < 32; i++) yield Buffer.alloc(64 * 1024, i);
    })();
    const err = await store.put('exp/big.bin', big, { contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({ code: 'STORAGE_FULL', status: 503, retryable: true, message: expect.stringContaining('disk full') });
    expect(await readdir(join(disk, 'exports'))).toEqual([]);
    // The space is back: a put that fits succeeds.
    expect((await store.put('exp/small.bin', bytes('fits'), { contentType: 'text/plain' })).size).toBe(4);
  });
});
