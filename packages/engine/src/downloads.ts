import { FerryError, type ByteRange, type ExportJob, type JobStore, type ObjectStore } from '@ferry/core';
import type { DownloadLinks } from './download-links.js';
import { unicodeFileName } from './ids.js';
import { exportEvent } from './events.js';
import { recordEvents } from './outbox.js';

export type DownloadResponse =
  | { kind: 'stream'; status: 200 | 206; headers: Record<string, string>; body: AsyncIterable<Uint8Array> | null }
  | { kind: 'redirect'; location: string; headers: Record<string, string> }
  /** 304: the client's copy (If-None-Match) is current. */
  | { kind: 'not-modified'; headers: Record<string, string> }
  /** 416, with a Content-Range that tells the client the file's length (RFC 9110 §15.5.17). */
  | { kind: 'unsatisfiable'; headers: Record<string, string>; error: FerryError };

export interface DownloadRequest {
  /** `GET` or `HEAD`; a HEAD gets the headers only and is never counted. */
  method?: string;
  rangeHeader?: string;
  ifNoneMatch?: string;
  client: string;
}

/** How long a store's own signed URL lives: just long enough to follow the redirect. */
const REDIRECT_URL_TTL_SEC = 300;

/**
 * Serves `/downloads/<token>`: checks Ferry's 30-day link, then either redirects to a fresh
 * short-lived URL signed by the store (S3, GCS: their presigned URLs cap at 7 days, ours does not)
 * or streams the object itself (local disk), with Range, ETag and If-None-Match.
 *
 * What counts as a download (the export's `downloads` and one `export.downloaded` event): a GET
 * answered from byte 0, that is without a Range or with one that starts at byte 0, counted as the
 * answer is sent (the file, the first range, or the redirect to the store). A HEAD, a 304, a 416 and
 * a Range request from further in (a resumed or parallel download) are not downloads of their own.
 */
export class DownloadService {
  constructor(private readonly deps: { jobs: JobStore; store: ObjectStore; links: DownloadLinks }) {}

  async open(token: string, opts: DownloadRequest): Promise<DownloadResponse> {
    const claim = this.deps.links.verify(token);
    const job = await this.deps.jobs.exports.get(claim.exportId);
    const result = job?.result;
    if (!job || !result) throw new FerryError('GONE', 'this export is no longer available');
    if (job.state === 'expired') throw new FerryError('GONE', `this export expired on ${result.expiresAt.toISOString()} and its file was deleted`);
    const file = claim.file === 'manifest' ? result.manifest : result.files[claim.file ?? 0];
    if (!file) throw new FerryError('NOT_FOUND', 'this export has no such file');
    const { store } = this.deps;
    const etag = `"${file.sha256}"`;
    // RFC 9110 §13.2.2: If-None-Match is evaluated before Range.
    if (opts.ifNoneMatch !== undefined && matchesEtag(opts.ifNoneMatch, etag)) {
      return { kind: 'not-modified', headers: { etag, 'cache-control': 'private, no-store' } };
    }
    let range: ByteRange | undefined;
    try {
      range = opts.rangeHeader ? parseRange(opts.rangeHeader, file.bytes) : undefined;
    } catch (err) {
      if (!(err instanceof FerryError && err.code === 'RANGE_NOT_SATISFIABLE')) throw err;
      return { kind: 'unsatisfiable', headers: { 'content-range': unsatisfiedRangeHeader(file.bytes), 'accept-ranges': 'bytes' }, error: err };
    }
    const head = opts.method === 'HEAD';
    const counts = !head && (range === undefined || range.start === 0);
    const utf8Name = unicodeFileName(job.name, file.fileName);

    if (store.capabilities.signedUrls && store.signUrl) {
      const location = await store.signUrl(file.objectKey, { expiresInSec: REDIRECT_URL_TTL_SEC, downloadName: utf8Name ?? file.fileName });
      if (counts) await this.#record(job, range ? range.end - range.start + 1 : file.bytes, opts);
      // The client re-sends its Range header to the store, which serves it.
      return { kind: 'redirect', location, headers: { 'cache-control': 'private, no-store' } };
    }

    const headers: Record<string, string> = {
      'content-type': file.contentType,
      'content-length': String(range ? range.end - range.start + 1 : file.bytes),
      'content-disposition': contentDisposition(file.fileName, utf8Name),
      'accept-ranges': 'bytes',
      etag,
      'cache-control': 'private, no-store',
    };
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${file.bytes}`;
    const status = range ? 206 : 200;
    if (head) {
      // The object must still be there: a HEAD answers what a GET would.
      await store.get(file.objectKey, { range: { start: 0, end: 0 } }).then(
        (o) => destroyBody(o.body),
        (err: unknown) => {
          throw err instanceof FerryError && err.code === 'NOT_FOUND' ? new FerryError('GONE', 'this export file has been deleted') : err;
        },
      );
      return { kind: 'stream', status, headers, body: null };
    }
    const object = await store.get(file.objectKey, range ? { range } : {}).catch((err: unknown) => {
      if (err instanceof FerryError && err.code === 'NOT_FOUND') throw new FerryError('GONE', 'this export file has been deleted');
      throw err;
    });
    headers['content-length'] = String(object.size);
    if (counts) await this.#record(job, object.size, opts);
    return { kind: 'stream', status, headers, body: object.body };
  }

  async #record(job: ExportJob, bytes: number, opts: DownloadRequest): Promise<void> {
    const at = new Date();
    await this.deps.jobs.transaction(async (tx) => {
      await tx.exports.recordDownload({ exportId: job.id, at, bytes, client: opts.client, range: opts.rangeHeader ?? null });
      await recordEvents(tx, [exportEvent('export.downloaded', job, { at })]);
    });
  }
}

/** `If-None-Match`: `*`, or a list of entity tags compared weakly (RFC 9110 §13.1.2). */
function matchesEtag(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/** Close a body we opened only to check the object exists. */
function destroyBody(body: AsyncIterable<Uint8Array>): void {
  // A Node stream is destroyed; a store's async generator is returned, which runs its cleanup.
  const closable = body as { destroy?: () => void; return?: () => Promise<unknown> };
  if (closable.destroy) closable.destroy();
  else void closable.return?.().catch(() => undefined);
}

/**
 * RFC 6266 `attachment`. `filename` is a quoted ASCII fallback every client understands: accents
 * dropped, anything else non-printable, `"`, `\\` and `%` (which some clients decode) as `_`.
 * `filename*` (RFC 8187, formerly 5987) carries the exact UTF-8 name, percent-encoded down to
 * attr-chars (so `'`, `(`, `)` and `*` too), whenever the fallback is not already that name.
 * `utf8Name` is the name to show (see `unicodeFileName` in ids.ts); by default `fileName` itself.
 */
export function contentDisposition(fileName: string, utf8Name?: string): string {
  const exact = (utf8Name ?? fileName).replace(/\p{Cs}/gu, '\uFFFD');
  const ascii = fileName
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const fallback = `attachment; filename="${ascii}"`;
  if (exact === ascii) return fallback;
  const encoded = encodeURIComponent(exact).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${fallback}; filename*=UTF-8''${encoded}`;
}

/**
 * The `Range` header, as one byte range clamped to the object. A list (`bytes=0-1,5-6`) is served
 * its first satisfiable range: RFC 9110 lets a server send fewer ranges than asked for, and the
 * 206's Content-Range says which one it got (no multipart/byteranges). A malformed header, or one
 * with no satisfiable range, is a 416; answer it with `unsatisfiedRangeHeader(size)`.
 */
export function parseRange(header: string, size: number): ByteRange {
  const unsatisfiable = () => new FerryError('RANGE_NOT_SATISFIABLE', `range "${header.slice(0, 100)}" cannot be served from ${size} bytes`);
  const m = /^bytes=(.*)$/i.exec(header.trim());
  if (!m) throw unsatisfiable();
  // Empty list elements are allowed by the list syntax (RFC 9110 §5.6.1) and ignored.
  const specs = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0) throw unsatisfiable();
  const parsed = specs.map((spec) => /^(\d*)-(\d*)$/.exec(spec));
  let first: ByteRange | undefined;
  for (const p of parsed) {
    if (!p || (p[1] === '' && p[2] === '')) throw unsatisfiable();
    if (p[1] !== '' && p[2] !== '' && Number(p[2]) < Number(p[1])) throw unsatisfiable();
    first ??= satisfiable(p[1]!, p[2]!, size);
  }
  if (!first) throw unsatisfiable();
  return first;
}

/** One range-spec against the object, or undefined when none of its bytes exist. */
function satisfiable(from: string, to: string, size: number): ByteRange | undefined {
  if (from === '') {
    const suffix = Number(to);
    return suffix === 0 || size === 0 ? undefined : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  if (start >= size) return undefined;
  return { start, end: to === '' ? size - 1 : Math.min(Number(to), size - 1) };
}

/** `Content-Range` for a 416 answer (RFC 9110 §14.4): the object's current length. */
export function unsatisfiedRangeHeader(size: number): string {
  return `bytes */${size}`;
}
