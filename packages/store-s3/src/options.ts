import { z } from 'zod';

const MiB = 1024 * 1024;

export const S3StoreOptionsSchema = z
  .strictObject({
    bucket: z.string().min(3).max(63),
    /** Prepended to every key, e.g. `ferry/exports/`. A missing trailing slash is not added: the prefix is used as given. */
    prefix: z
      .string()
      .default('')
      .refine((p) => p === '' || !p.split('/').some((seg, i, all) => seg === '.' || seg === '..' || (seg === '' && i !== all.length - 1)), {
        message: 'prefix must be a relative path without empty, "." or ".." segments (a trailing "/" is fine)',
      }),
    region: z.string().min(1).default('us-east-1'),
    /** For S3-compatible servers (MinIO, R2, Ceph, s3rver). Unset means AWS. */
    endpoint: z.url().optional(),
    /** Path-style URLs (`https://host/bucket/key`); MinIO and most self-hosted servers need it. */
    forcePathStyle: z.boolean().default(false),
    /** Static credentials; unset means the standard AWS credential chain (env, profile, SSO, IMDS, ...). */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    serverSideEncryption: z.enum(['AES256', 'aws:kms']).optional(),
    sseKmsKeyId: z.string().min(1).optional(),
    /** Multipart part size. S3 refuses parts under 5 MiB (except the last). */
    partSizeBytes: z.int().min(5 * MiB).default(8 * MiB),
    /** Parts uploaded concurrently. Peak memory is about partSizeBytes x (queueSize + 1). */
    queueSize: z.int().min(1).max(64).default(4),
  })
  .refine((o) => (o.accessKeyId === undefined) === (o.secretAccessKey === undefined), {
    message: 'accessKeyId and secretAccessKey must be given together',
    path: ['secretAccessKey'],
  })
  .refine((o) => o.sessionToken === undefined || o.accessKeyId !== undefined, {
    message: 'sessionToken needs accessKeyId and secretAccessKey',
    path: ['sessionToken'],
  })
  .refine((o) => o.sseKmsKeyId === undefined || o.serverSideEncryption === 'aws:kms', {
    message: 'sseKmsKeyId requires serverSideEncryption "aws:kms"',
    path: ['sseKmsKeyId'],
  });

export type S3StoreOptions = z.output<typeof S3StoreOptionsSchema>;
