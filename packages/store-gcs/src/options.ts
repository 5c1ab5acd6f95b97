import { z } from 'zod';

const MiB = 1024 * 1024;

export const GcsStoreOptionsSchema = z
  .strictObject({
    bucket: z.string().min(3).max(222),
    /** Prepended to every key, e.g. `ferry/exports/`; used as given (no slash is added). */
    prefix: z
      .string()
      .default('')
      .refine((p) => p === '' || !p.split('/').some((seg, i, all) => seg === '.' || seg === '..' || (seg === '' && i !== all.length - 1)), {
        message: 'prefix must be a relative path without empty, "." or ".." segments (a trailing "/" is fine)',
      }),
    projectId: z.string().min(1).optional(),
    /** Path to a service-account JSON key. */
    keyFilename: z.string().min(1).optional(),
    /** An inline service-account key (the two fields signing and token minting need). */
    credentials: z.strictObject({ client_email: z.email(), private_key: z.string().min(1) }).optional(),
    /** Another endpoint for emulators and tests, e.g. `http://127.0.0.1:4443`. Requests to it are unauthenticated (library default). */
    apiEndpoint: z.url().optional(),
    /**
     * Bodies that end below this many bytes go up in one request (`uploadType=multipart`) instead of a
     * resumable session (two or more requests). Buffered in memory, hence capped. Unset: resumable
     * unless the body is empty.
     */
    resumableThresholdBytes: z.int().min(1).max(32 * MiB).optional(),
    /**
     * Resumable uploads go up in requests of this many bytes (a multiple of 256 KiB, as GCS requires),
     * each held in memory until GCS has persisted it, so a failed or short request is resent from there.
     */
    uploadChunkBytes: z
      .int()
      .min(256 * 1024)
      .max(256 * MiB)
      .refine((n) => n % (256 * 1024) === 0, { message: 'uploadChunkBytes must be a multiple of 256 KiB (262144)' })
      .default(8 * MiB),
  })
  .refine((o) => !(o.keyFilename && o.credentials), {
    message: 'give either keyFilename or credentials, not both',
    path: ['credentials'],
  });

export type GcsStoreOptions = z.output<typeof GcsStoreOptionsSchema>;
