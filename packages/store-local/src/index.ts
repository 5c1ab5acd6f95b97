import { resolve } from 'node:path';
import { z } from 'zod';
import { definePlugin } from '@ferry/core';
import { LocalStore } from './local-store.js';

export { DEFAULT_STALE_AFTER_MS, LocalStore, type LocalStoreOptions, type SweepResult } from './local-store.js';

export const LocalStoreOptionsSchema = z.strictObject({
  /** Directory for the objects; relative paths are under the data dir. Default `<dataDir>/exports`. */
  root: z.string().min(1).default('exports'),
});

export const localStore = definePlugin({
  kind: 'store',
  name: 'local',
  description: 'Files on local disk; atomic writes (temp file, fsync, rename); leftovers of crashed writes are swept. Embedded default.',
  options: LocalStoreOptionsSchema,
  capabilities: { signedUrls: false, rangeReads: true, multipart: false },
  create: (options, ctx) => {
    const store = new LocalStore({ root: resolve(ctx.dataDir, options.root) });
    store.startSweeping(ctx.logger);
    return store;
  },
});
