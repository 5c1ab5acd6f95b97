import { definePlugin } from '@ferry/core';
import { GcsStore } from './gcs-store.js';
import { GcsStoreOptionsSchema } from './options.js';

export { GcsStore } from './gcs-store.js';
export { GcsStoreOptionsSchema, type GcsStoreOptions } from './options.js';
export { MAX_SIGNED_URL_SEC, signV4, contentDisposition, type V4SignOptions } from './signing.js';

export const gcsStore = definePlugin({
  kind: 'store',
  name: 'gcs',
  description: 'Google Cloud Storage: streaming resumable uploads, range reads, V4 signed URLs.',
  options: GcsStoreOptionsSchema,
  capabilities: { signedUrls: true, rangeReads: true, multipart: true },
  create: (options) => new GcsStore(options),
});
