import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { SqliteJobStore } from './sqlite-job-store.js';

/**
 * A real full disk: the database on a small tmpfs (root only; elsewhere the test says why it
 * skipped), filled up by another file, as a data dir shared with exports fills up.
 */
describe('sqlite job store on a full disk', () => {
  let disk: string;
  let skip: string | null = null;
  beforeAll(async () => {
    disk = await mkdtemp(join(tmpdir(), 'ferry-sqlite-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2048k', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (err) {
      skip = `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
      console.warn(`skipping the SQLITE_FULL test: ${skip}`);
    }
  });
  afterAll(async () => {
    if (!skip) execFileSync('umount', [disk]);
    await rm(disk, { recursive: true, force: true });
  });

  it('reports SQLITE_FULL as STORAGE_FULL (503, retryable, Retry-After), and works again once space is freed', async (ctx) => {
    if (skip) ctx.skip();
    const store = new SqliteJobStore({ file: join(disk, 'ferry.db') });
    try {
      const filler = join(disk, 'filler');
      // Fill the disk to the last block: writes that need one more page fail.
      let size = 4 * 1024 * 1024;
      for (;;) {
        try {
          await writeFile(filler, Buffer.alloc(size));
          break;
        } catch {
          size -= 16 * 1024;
        }
      }
      const err = await (async () => {
        for (let i = 0; i < 1000; i++) await store.settings.put(`s${i}`, 'x'.repeat(4000));
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FerryError);
      expect(err).toMatchObject({ code: 'STORAGE_FULL', status: 503, retryable: true, retryAfterSeconds: 30, message: expect.stringContaining('disk full') });

      await rm(filler);
      await store.settings.put('after', 'space');
      expect(await store.settings.get('after')).toBe('space');
    } finally {
      await store.close();
    }
  });
});
