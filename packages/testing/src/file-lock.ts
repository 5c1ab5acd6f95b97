import { mkdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

/** A lock this old belongs to a test process that died holding it. */
const STALE_MS = 15 * 60_000;

/**
 * Run `fn` while holding a lock named `name` across processes (vitest runs test files in parallel
 * workers): e.g. two tests that build the workspace's dist/ folders must not write them at once.
 * `mkdir` is atomic, so exactly one process creates the lock directory.
 */
export async function withFileLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const dir = join(tmpdir(), `ferry-lock-${name}`);
  await waitFor(
    `the ${name} lock`,
    async () => {
      try {
        await mkdir(dir);
        return true;
      } catch {
        const age = await stat(dir).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > STALE_MS) await rmdir(dir).catch(() => undefined);
        return undefined;
      }
    },
    timeoutMs,
  );
  try {
    return await fn();
  } finally {
    await rmdir(dir).catch(() => undefined);
  }
}
