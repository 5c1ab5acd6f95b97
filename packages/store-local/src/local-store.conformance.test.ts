import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeStoreConformance } from '@ferry/testing/store';
import { silentLogger } from '@ferry/core';
import { localStore } from './index.js';

let root = '';

describeStoreConformance({
  name: 'local',
  create: async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-store-'));
    return localStore.create(localStore.options.parse({ root }), { logger: silentLogger, dataDir: root });
  },
  additionalTests: (createStore) => {
    it('leaves no temp file behind after a failed put', async () => {
      const store = await createStore();
      const failing = (async function* () {
        yield Buffer.from('partial');
        throw new Error('boom');
      })();
      await expect(store.put('dir/file.bin', failing, { contentType: 'text/plain' })).rejects.toThrow('boom');
      const left = await readdir(root, { recursive: true });
      expect(left.filter((f) => f.startsWith('dir'))).toEqual([]);
    });
  },
});
