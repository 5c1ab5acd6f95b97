import { resolve } from 'node:path';
import { z } from 'zod';
import { definePlugin } from '@ferry/core';
import { SQLITE_BLOB_CAPABILITIES, SqliteBlobStore } from './sqlite-blob-store.js';

export { SQLITE_BLOB_CAPABILITIES, SqliteBlobStore } from './sqlite-blob-store.js';

/** Ferry checks a config slot's options with this schema, so a typo is one clear error naming the field. */
export const sqliteBlobStoreOptions = z.strictObject({
  /** The database file, relative to Ferry's data directory. */
  file: z.string().min(1).default('objects.sqlite'),
  /** Bytes per stored chunk: the most one read or write holds in memory. */
  chunkBytes: z.int().min(4096).max(64 * 1024 * 1024).default(1024 * 1024),
});

/** The plugin: list this package under `plugins` in ferry.config.json, then `"store": {"use": "sqlite-blobs"}`. */
export const sqliteBlobStore = definePlugin({
  kind: 'store',
  name: 'sqlite-blobs',
  description: 'objects as chunks in one SQLite file',
  options: sqliteBlobStoreOptions,
  capabilities: SQLITE_BLOB_CAPABILITIES,
  create: (options, ctx) => new SqliteBlobStore({ path: resolve(ctx.dataDir, options.file), chunkBytes: options.chunkBytes }),
});
