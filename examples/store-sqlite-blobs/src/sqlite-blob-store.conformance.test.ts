import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { silentLogger, type ObjectStore } from '@ferry/core';
import { describeStoreConformance } from '@ferry/testing/store';
import { SQLITE_BLOB_CAPABILITIES, sqliteBlobStore } from './index.js';

const dirs: string[] = [];
const open = async (options: unknown = {}, dataDir?: string): Promise<ObjectStore> => {
  if (!dataDir) dirs.push((dataDir = await mkdtemp(join(tmpdir(), 'ferry-sqlite-blobs-'))));
  return sqliteBlobStore.create(sqliteBlobStore.options.parse(options), { logger: silentLogger, dataDir });
};
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describeStoreConformance({
  name: 'sqlite-blobs',
  capabilities: SQLITE_BLOB_CAPABILITIES,
  create: () => open(),
  additionalTests: () => {
    it('keeps objects across a reopen of the same file', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ferry-sqlite-blobs-'));
      dirs.push(dir);
      const first = await open({ chunkBytes: 4096 }, dir);
      const bytes = Buffer.alloc(10_000, 7);
      await first.put('kept/file.bin', (async function* () { yield bytes; })(), { contentType: 'application/octet-stream' });
      await first.close?.();
      const second = await open({}, dir);
      const got = await second.get('kept/file.bin', { range: { start: 4000, end: 8999 } });
      const parts: Uint8Array[] = [];
      for await (const part of got.body) parts.push(part);
      expect(Buffer.concat(parts)).toEqual(bytes.subarray(4000, 9000));
      await second.close?.();
    });
  },
});
