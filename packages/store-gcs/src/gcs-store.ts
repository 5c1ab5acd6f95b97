import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IdempotencyStrategy, Storage, type Bucket, type CreateWriteStreamOptions, type StorageOptions } from '@google-cloud/storage';
import { FerryError, assertSafeKey, measure, type ByteRange, type ObjectRef, type ObjectStore, type StoredObject } from '@ferry/core';
import { PLUGIN, toFerryError } from './errors.js';
import type { GcsStoreOptions } from './options.js';
import { signV4 } from './signing.js';

export class GcsStore implements ObjectStore {
  readonly name = 'gcs';
  readonly capabilities = { signedUrls: true, rangeReads: true, multipart: true };
  /** Exposed for embedders that need more of the API (lifecycle rules, listing). */
  readonly storage: Storage;
  readonly #bucket: Bucket;
  readonly #options: GcsStoreOptions;

  constructor(options: GcsStoreOptions, storage?: Storage) {
    this.#options = options;
    this.storage = storage ?? new Storage(storageOptions(options));
    this.#bucket = this.storage.bucket(options.bucket);
  }

  #key(key: string): string {
    assertSafeKey(key, PLUGIN);
    return this.#options.prefix + key;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    const file = this.#bucket.file(this.#key(key));
    opts.signal?.throwIfAborted();
    const measured = measure(body, opts.signal);
    const upload: CreateWriteStreamOptions = {
      contentType: opts.contentType,
      // Stored exactly as given and never with Content-Encoding: gzip. GCS would otherwise serve a
      // `.csv.gz` with decompressive transcoding, which ignores Range and breaks checksums.
      metadata: { contentType: opts.contentType },
      gzip: false,
      // The library compares its CRC32C with the one GCS computed and deletes the object on mismatch.
      validation: 'crc32c',
    };
    try {
      // An empty body never opens a session: its only chunk would be zero bytes, which a chunked
      // session cannot express (the library would send `bytes 0--1/0`).
      const head = await readHead(measured.body, this.#options.resumableThresholdBytes ?? 1);
      if (head.ended) {
        // Small body, fully in hand: one multipart request instead of opening a resumable session.
        opts.signal?.throwIfAborted();
        await file.save(Buffer.concat(head.chunks), { ...upload, resumable: false });
      } else {
        // A resumable session, sent in chunks: GCS may persist less of a chunk than it received (its
        // 308 says how much) or fail one (429/5xx); the library resends from what it persisted. The
        // object appears only when the body ends cleanly; a destroyed stream (abort, body error)
        // leaves an unfinished session, never an object. The session is opened first, on its own:
        // the library authenticates that request even against a custom endpoint (the streaming
        // call alone would not), and requests to the session URI need no token.
        const [uri] = await file.createResumableUpload({ metadata: { contentType: opts.contentType } });
        opts.signal?.throwIfAborted();
        const source = Readable.from(concat(head.chunks, measured.body), { objectMode: false });
        const stream = file.createWriteStream({ ...upload, resumable: true, uri, offset: 0, chunkSize: this.#options.uploadChunkBytes });
        await pipeline(source, stream, opts.signal ? { signal: opts.signal } : {});
      }
    } catch (err) {
      if (measured.result.bodyError !== undefined) throw measured.result.bodyError;
      if (opts.signal?.aborted) throw abortedError(key, opts.signal.reason);
      throw toFerryError(err, `upload of "${key}"`);
    }
    return { key, size: measured.result.size, contentType: opts.contentType, sha256: measured.result.sha256() };
  }

  async get(key: string, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<StoredObject> {
    const name = this.#key(key);
    const { range } = opts;
    let meta;
    try {
      [meta] = await this.#bucket.file(name).getMetadata();
    } catch (err) {
      throw toFerryError(err, `read of "${key}"`);
    }
    const total = Number(meta.size ?? 0);
    const contentType = meta.contentType ?? 'application/octet-stream';
    if (range && (range.start < 0 || range.end < range.start || (range.start >= total && total > 0) || (total === 0 && range.start > 0))) {
      throw new FerryError('RANGE_NOT_SATISFIABLE', `range ${range.start}-${range.end} is outside "${key}" (${total} bytes)`, { plugin: PLUGIN });
    }
    // Read the generation we measured, so size and bytes agree even if the key is overwritten meanwhile.
    const pinned = this.#bucket.file(name, meta.generation !== undefined ? { generation: Number(meta.generation) } : {});
    const end = range ? Math.min(range.end, total - 1) : total - 1;
    const size = range ? Math.max(0, end - range.start + 1) : total;
    if (size === 0) return { body: Readable.from([]), size: 0, contentType };
    const stream = pinned.createReadStream({
      ...(range ? { start: range.start, end } : {}),
      // Whole reads are checked against the stored CRC32C; a partial read cannot be.
      validation: range ? false : 'crc32c',
      decompress: false,
    });
    if (opts.signal) {
      const signal = opts.signal;
      const onAbort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return { body: mapErrors(stream, key), size, contentType };
  }

  async delete(key: string): Promise<void> {
    const name = this.#key(key);
    try {
      await this.#bucket.file(name).delete({ ignoreNotFound: true });
    } catch (err) {
      throw toFerryError(err, `delete of "${key}"`);
    }
  }

  async signUrl(key: string, opts: { expiresInSec: number; downloadName?: string }): Promise<string> {
    return signV4(this.#bucket.file(this.#key(key)), { method: 'GET', expiresInSec: opts.expiresInSec, ...(opts.downloadName ? { downloadName: opts.downloadName } : {}) });
  }
}

/** The client's settings from the plugin options (exported for tests that point its credentials elsewhere). */
export function storageOptions(options: GcsStoreOptions): StorageOptions {
  return {
    ...(options.projectId ? { projectId: options.projectId } : {}),
    ...(options.keyFilename ? { keyFilename: options.keyFilename } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
    // Every write here may be repeated: a put replaces the whole object under its key (a retried
    // export rewrites its files), chunks of a session are resent from the offset GCS reports, and
    // deletes ignore a missing object. The library's default retries uploads and deletes only under
    // a generation precondition, that is never for us.
    retryOptions: { autoRetry: true, idempotencyStrategy: IdempotencyStrategy.RetryAlways },
  };
}

/** Pull chunks until `limit` bytes are held or the body ends, whichever is first. */
async function readHead(body: AsyncIterator<Uint8Array>, limit: number): Promise<{ chunks: Uint8Array[]; ended: boolean }> {
  const chunks: Uint8Array[] = [];
  let held = 0;
  while (held < limit) {
    const next = await body.next();
    if (next.done) return { chunks, ended: true };
    chunks.push(next.value);
    held += next.value.byteLength;
  }
  return { chunks, ended: false };
}

async function* concat(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* head;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** Library errors surface while the body is read; give them the same safe shape as the others. */
async function* mapErrors(stream: Readable, key: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (err) {
    throw toFerryError(err, `read of "${key}"`);
  }
}

/** The caller's abort reason, kept in the message too, since callers match on what they aborted with. */
function abortedError(key: string, reason: unknown): FerryError {
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new FerryError('ABORTED', `upload of "${key}" was aborted: ${why}`, { plugin: PLUGIN, cause: reason });
}
