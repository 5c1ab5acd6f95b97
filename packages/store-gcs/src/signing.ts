import type { File, GetSignedUrlConfig } from '@google-cloud/storage';
import { FerryError } from '@ferry/core';
import { PLUGIN, toFerryError } from './errors.js';

/** GCS V4 signatures are valid for at most 7 days; the library throws past that, we say why first. */
export const MAX_SIGNED_URL_SEC = 7 * 24 * 60 * 60;

export interface V4SignOptions {
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  expiresInSec: number;
  extensionHeaders?: Record<string, string>;
  queryParams?: Record<string, string>;
  virtualHostedStyle?: boolean;
  /** A bucket-bound domain (CNAME), e.g. `https://downloads.example.com`. */
  cname?: string;
  downloadName?: string;
}

const ACTIONS = { GET: 'read', PUT: 'write', POST: 'resumable', DELETE: 'delete' } as const;

/**
 * A V4 (GOOG4-RSA-SHA256) signed URL from the library's signer. It signs locally when the
 * credentials hold a private key and falls back to IAM signBlob otherwise (e.g. workload identity).
 * The expiry is counted from `Date.now()`, which is also the X-Goog-Date of the signature.
 */
export async function signV4(file: File, opts: V4SignOptions): Promise<string> {
  const { expiresInSec } = opts;
  if (!Number.isInteger(expiresInSec) || expiresInSec < 1 || expiresInSec > MAX_SIGNED_URL_SEC) {
    throw new FerryError(
      'UNSUPPORTED',
      `GCS V4 signed URLs last between 1 and ${MAX_SIGNED_URL_SEC} seconds (7 days); ${expiresInSec} was asked. Use a re-signing download link for longer lifetimes.`,
      { plugin: PLUGIN, path: ['expiresInSec'] },
    );
  }
  const now = Date.now();
  // Whole seconds: X-Goog-Date has second precision, and a fractional remainder would leak into X-Goog-Expires.
  const accessibleAt = Math.floor(now / 1000) * 1000;
  const config: GetSignedUrlConfig = {
    version: 'v4',
    action: ACTIONS[opts.method ?? 'GET'],
    accessibleAt,
    expires: accessibleAt + expiresInSec * 1000,
    ...(opts.extensionHeaders ? { extensionHeaders: opts.extensionHeaders } : {}),
    ...(opts.queryParams ? { queryParams: opts.queryParams } : {}),
    ...(opts.virtualHostedStyle ? { virtualHostedStyle: true } : {}),
    ...(opts.cname ? { cname: opts.cname } : {}),
    ...(opts.downloadName ? { responseDisposition: contentDisposition(opts.downloadName) } : {}),
  };
  try {
    const [url] = await file.getSignedUrl(config);
    return url;
  } catch (err) {
    throw toFerryError(err, `signing a URL for "${file.name}"`);
  }
}

/** RFC 6266 attachment with an ASCII fallback and the exact UTF-8 name. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
