import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { FerryError, assertSafeKey, measure, type ByteRange, type ObjectRef, type ObjectStore, type StoredObject } from '@ferry/core';
import { PLUGIN, toFerryError } from './errors.js';
import { streamUpload, type UploadTarget } from './multipart.js';
import type { S3StoreOptions } from './options.js';

/** SigV4 presigned URLs are valid for at most 7 days; S3 rejects longer ones when used, so refuse them up front. */
export const MAX_SIGNED_URL_SEC = 7 * 24 * 60 * 60;

export class S3Store implements ObjectStore {
  readonly name = 's3';
  readonly capabilities = { signedUrls: true, rangeReads: true, multipart: true };
  /** Exposed so embedders (and tests) can add middleware, e.g. custom headers or request logging. */
  readonly client: S3Client;
  readonly #options: S3StoreOptions;
  readonly #secrets: ReadonlyArray<string | undefined>;

  constructor(options: S3StoreOptions, client?: S3Client) {
    this.#options = options;
    this.#secrets = [options.accessKeyId, options.secretAccessKey, options.sessionToken];
    this.client = client ?? new S3Client(clientConfig(options));
  }

  #key(key: string): string {
    assertSafeKey(key, PLUGIN);
    return this.#options.prefix + key;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    const objectKey = this.#key(key);
    opts.signal?.throwIfAborted();
    const measured = measure(body, opts.signal);
    const target: UploadTarget = {
      Bucket: this.#options.bucket,
      Key: objectKey,
      ContentType: opts.contentType,
      ...(this.#options.serverSideEncryption ? { ServerSideEncryption: this.#options.serverSideEncryption } : {}),
      ...(this.#options.sseKmsKeyId ? { SSEKMSKeyId: this.#options.sseKmsKeyId } : {}),
    };
    try {
      await streamUpload(this.client, target, measured.body, {
        partSize: this.#options.partSizeBytes,
        queueSize: this.#options.queueSize,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      // The caller's own body error (or abort reason) is theirs to see unchanged.
      if (measured.result.bodyError !== undefined) throw measured.result.bodyError;
      if (opts.signal?.aborted) throw abortedError(key, opts.signal.reason);
      throw toFerryError(err, `upload of "${key}"`, this.#secrets);
    }
    return { key, size: measured.result.size, contentType: opts.contentType, sha256: measured.result.sha256() };
  }

  async get(key: string, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<StoredObject> {
    const objectKey = this.#key(key);
    const { range } = opts;
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.#options.bucket,
          Key: objectKey,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
      if (!(res.Body instanceof Readable)) throw new FerryError('INTERNAL', `GetObject for "${key}" returned no stream body`, { plugin: PLUGIN });
      return {
        body: res.Body,
        size: res.ContentLength ?? 0,
        contentType: res.ContentType ?? 'application/octet-stream',
      };
    } catch (err) {
      throw toFerryError(err, `read of "${key}"`, this.#secrets);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.#key(key);
    try {
      // DeleteObject on a missing key succeeds in S3, so this is idempotent without a HEAD first.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.#options.bucket, Key: objectKey }));
    } catch (err) {
      const mapped = toFerryError(err, `delete of "${key}"`, this.#secrets);
      if (mapped.code !== 'NOT_FOUND') throw mapped;
    }
  }

  async signUrl(key: string, opts: { expiresInSec: number; downloadName?: string }): Promise<string> {
    const objectKey = this.#key(key);
    const { expiresInSec } = opts;
    if (!Number.isInteger(expiresInSec) || expiresInSec < 1 || expiresInSec > MAX_SIGNED_URL_SEC) {
      throw new FerryError(
        'UNSUPPORTED',
        `S3 presigned URLs last between 1 and ${MAX_SIGNED_URL_SEC} seconds (7 days); ${expiresInSec} was asked. Use a re-signing download link for longer lifetimes.`,
        { plugin: PLUGIN, path: ['expiresInSec'] },
      );
    }
    const command = new GetObjectCommand({
      Bucket: this.#options.bucket,
      Key: objectKey,
      ...(opts.downloadName ? { ResponseContentDisposition: contentDisposition(opts.downloadName) } : {}),
    });
    try {
      return await getSignedUrl(this.client, command, { expiresIn: expiresInSec });
    } catch (err) {
      throw toFerryError(err, `signing a URL for "${key}"`, this.#secrets);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function clientConfig(options: S3StoreOptions): S3ClientConfig {
  return {
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.accessKeyId && options.secretAccessKey
      ? {
          credentials: {
            accessKeyId: options.accessKeyId,
            secretAccessKey: options.secretAccessKey,
            ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
          },
        }
      : {}),
    // SDK >= 3.729 adds CRC32 trailers in aws-chunked bodies by default; many S3-compatible servers
    // (older MinIO, R2, Ceph, s3rver) store the framing as content. Only send checksums when an
    // operation requires them if the endpoint is not AWS; AWS itself keeps the stronger default.
    ...(options.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  };
}

/** RFC 6266 attachment with an ASCII fallback and the exact UTF-8 name. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

/** The caller's abort reason, kept in the message too, since callers match on what they aborted with. */
function abortedError(key: string, reason: unknown): FerryError {
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new FerryError('ABORTED', `upload of "${key}" was aborted: ${why}`, { plugin: PLUGIN, cause: reason });
}
