import { definePlugin } from '@ferry/core';
import { S3StoreOptionsSchema } from './options.js';
import { S3Store } from './s3-store.js';

export { S3Store, MAX_SIGNED_URL_SEC, contentDisposition } from './s3-store.js';
export { S3StoreOptionsSchema, type S3StoreOptions } from './options.js';

export const s3Store = definePlugin({
  kind: 'store',
  name: 's3',
  description: 'Amazon S3 and S3-compatible servers (MinIO, R2, Ceph): streaming multipart uploads, range reads, presigned URLs.',
  options: S3StoreOptionsSchema,
  capabilities: { signedUrls: true, rangeReads: true, multipart: true },
  create: (options) => new S3Store(options),
});
