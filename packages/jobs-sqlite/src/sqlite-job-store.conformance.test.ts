import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeJobStoreConformance, describeVersionStoreConformance } from '@ferry/testing';
import { silentLogger } from '@ferry/core';
import { sqliteJobs } from './index.js';

const newLocation = async () => join(await mkdtemp(join(tmpdir(), 'ferry-jobs-')), 'ferry.db');
const open = async (file: string) => sqliteJobs.create(sqliteJobs.options.parse({ file }), { logger: silentLogger, dataDir: tmpdir() });

describeVersionStoreConformance({ name: 'sqlite', newLocation, open });

describeJobStoreConformance({
  name: 'sqlite',
  newLocation,
  open,
  additionalTests: () => {
    it('uses WAL so readers never block the writer', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ferry-jobs-'));
      const store = await sqliteJobs.create(sqliteJobs.options.parse({}), { logger: silentLogger, dataDir: dir });
      await store.close();
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(join(dir, 'ferry.db'));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    });
  },
});
