import { FerryError, type ByteRange, type JobStore, type ObjectStore } from '@ferry/core';
import type { DownloadLinks } from './download-links.js';
import { exportEvent } from './events.js';

export interface DownloadResponse {
  status: 200 | 206;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
}

/** Serves `/downloads/<token>`: checks the link, streams the object (with Range), records the download. */
export class DownloadService {
  constructor(private readonly deps: { jobs: JobStore; store: ObjectStore; links: DownloadLinks }) {}

  async open(token: string, opts: { rangeHeader?: string; client: string }): Promise<DownloadResponse> {
    const claim = this.deps.links.verify(token);
    const job = await this.deps.jobs.getExport(claim.exportId);
    const result = job?.result;
    if (!job || !result) throw new FerryError('GONE', 'this export is no longer available');
    const range = opts.rangeHeader ? parseRange(opts.rangeHeader, result.bytes) : undefined;
    const object = await this.deps.store.get(result.objectKey, range ? { range } : {}).catch((err: unknown) => {
      if (err instanceof FerryError && err.code === 'NOT_FOUND') throw new FerryError('GONE', 'this export file has been deleted');
      throw err;
    });
    const at = new Date();
    await this.deps.jobs.recordDownload(
      { exportId: job.id, at, bytes: object.size, client: opts.client, range: opts.rangeHeader ?? null },
      [exportEvent('export.downloaded', job, { at })],
    );
    const headers: Record<string, string> = {
      'content-type': result.contentType,
      'content-length': String(object.size),
      'content-disposition': `attachment; filename="${result.fileName}"`,
      'accept-ranges': 'bytes',
      etag: `"${result.sha256}"`,
      'cache-control': 'private, no-store',
    };
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${result.bytes}`;
    return { status: range ? 206 : 200, headers, body: object.body };
  }
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
