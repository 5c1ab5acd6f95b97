import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { describeJobStoreConformance } from '@ferry/testing/jobs';
import { silentLogger } from '@ferry/core';
import { sqliteJobs, SqliteJobStore } from './index.js';

describeJobStoreConformance({
  name: 'sqlite',
  newLocation: async () => join(await mkdtemp(join(tmpdir(), 'ferry-jobs-')), 'ferry.db'),
  open: async (file, opts) => new SqliteJobStore({ file, now: opts?.now }),
  dropLocation: (file) => rm(dirname(file), { recursive: true, force: true }),
  additionalTests: () => {
    it('uses WAL so readers never block the writer', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ferry-jobs-'));
      try {
        const store = await sqliteJobs.create(sqliteJobs.options.parse({}), { logger: silentLogger, dataDir: dir });
        await store.close();
        const db = new Database(join(dir, 'ferry.db'));
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        db.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
});
