import { FerryError, type ByteRange, type ExportJob, type JobStore, type ObjectStore } from '@ferry/core';
import type { DownloadLinks } from './download-links.js';
import { exportEvent } from './events.js';

export type DownloadResponse =
  | { kind: 'stream'; status: 200 | 206; headers: Record<string, string>; body: AsyncIterable<Uint8Array> }
  | { kind: 'redirect'; location: string; headers: Record<string, string> };

/** How long a store's own signed URL lives: just long enough to follow the redirect. */
const REDIRECT_URL_TTL_SEC = 300;

/**
 * Serves `/downloads/<token>`: checks Ferry's 30-day link, then either redirects to a fresh
 * short-lived URL signed by the store (S3, GCS: their presigned URLs cap at 7 days, ours does not)
 * or streams the object itself (local disk), with Range. Every download is recorded and announced.
 */
export class DownloadService {
  constructor(private readonly deps: { jobs: JobStore; store: ObjectStore; links: DownloadLinks }) {}

  async open(token: string, opts: { rangeHeader?: string; client: string }): Promise<DownloadResponse> {
    const claim = this.deps.links.verify(token);
    const job = await this.deps.jobs.getExport(claim.exportId);
    const result = job?.result;
    if (!job || !result) throw new FerryError('GONE', 'this export is no longer available');
    if (job.state === 'expired') throw new FerryError('GONE', `this export expired on ${result.expiresAt.toISOString()} and its file was deleted`);
    const file = claim.file === 'manifest' ? result.manifest : result.files[claim.file ?? 0];
    if (!file) throw new FerryError('NOT_FOUND', 'this export has no such file');
    const { store } = this.deps;
    const range = opts.rangeHeader ? parseRange(opts.rangeHeader, file.bytes) : undefined;

    if (store.capabilities.signedUrls && store.signUrl) {
      const location = await store.signUrl(file.objectKey, { expiresInSec: REDIRECT_URL_TTL_SEC, downloadName: file.fileName });
      await this.#record(job, range ? range.end - range.start + 1 : file.bytes, opts);
      // The client re-sends its Range header to the store, which serves it.
      return { kind: 'redirect', location, headers: { 'cache-control': 'private, no-store' } };
    }

    const object = await store.get(file.objectKey, range ? { range } : {}).catch((err: unknown) => {
      if (err instanceof FerryError && err.code === 'NOT_FOUND') throw new FerryError('GONE', 'this export file has been deleted');
      throw err;
    });
    await this.#record(job, object.size, opts);
    const headers: Record<string, string> = {
      'content-type': file.contentType,
      'content-length': String(object.size),
      'content-disposition': contentDisposition(file.fileName),
      'accept-ranges': 'bytes',
      etag: `"${file.sha256}"`,
      'cache-control': 'private, no-store',
    };
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${file.bytes}`;
    return { kind: 'stream', status: range ? 206 : 200, headers, body: object.body };
  }

  async #record(job: ExportJob, bytes: number, opts: { rangeHeader?: string; client: string }): Promise<void> {
    const at = new Date();
    await this.deps.jobs.recordDownload(
      { exportId: job.id, at, bytes, client: opts.client, range: opts.rangeHeader ?? null },
      [exportEvent('export.downloaded', job, { at })],
    );
  }
}

/** `attachment; filename="..."` with an RFC 5987 `filename*` for names that are not plain ASCII. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return ascii === fileName ? `attachment; filename="${fileName}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

/** One `bytes=` range, clamped to the object; unsatisfiable ranges are a 416. */
export function parseRange(header: string, size: number): ByteRange {
  const unsatisfiable = () => new FerryError('RANGE_NOT_SATISFIABLE', `range "${header}" cannot be served from ${size} bytes`);
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw unsatisfiable();
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable();
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) throw unsatisfiable();
  return { start, end };
}
