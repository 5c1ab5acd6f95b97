import { createHmac, timingSafeEqual } from 'node:crypto';
import { FerryError } from '@ferry/core';

export interface DownloadClaim {
  exportId: string;
  expiresAt: Date;
  /** Which file of a split export (0-based), or its manifest; absent means the first (only) file. */
  file?: number | 'manifest';
}

/**
 * Ferry's own download links: `<publicUrl>/downloads/<token>`, where the token is the export id and
 * expiry signed with a server secret. A link cannot be guessed or altered (403), and stops working
 * at its expiry (410) regardless of what the store could sign, which is how 30-day links outlive
 * the 7-day cap of S3 and GCS presigned URLs.
 */
export class DownloadLinks {
  readonly #keys: readonly Buffer[];
  readonly #publicUrl: () => string;

  /**
   * `secret`: one key as base64url (the one kept in the job store), or several keys, newest first:
   * the first signs, every one verifies, so a rotated-out key keeps its live links working.
   * `publicUrl` may be a function: a server on port 0 knows its address only once it listens.
   */
  constructor(secret: string | readonly Buffer[], publicUrl: string | (() => string)) {
    this.#keys = typeof secret === 'string' ? [Buffer.from(secret, 'base64url')] : secret;
    if (this.#keys.length === 0) throw new FerryError('INVALID_CONFIG', 'download links need at least one signing key');
    this.#publicUrl = typeof publicUrl === 'function' ? publicUrl : () => publicUrl;
  }

  url(claim: DownloadClaim): string {
    return `${this.#publicUrl().replace(/\/+$/, '')}/downloads/${this.token(claim)}`;
  }

  token(claim: DownloadClaim): string {
    const file = claim.file === undefined || claim.file === 0 ? '' : `.${claim.file === 'manifest' ? 'm' : claim.file}`;
    const body = Buffer.from(`${claim.exportId}.${Math.floor(claim.expiresAt.getTime() / 1000)}${file}`).toString('base64url');
    return `${body}.${this.#mac(this.#keys[0]!, body)}`;
  }

  verify(token: string, now: Date = new Date()): DownloadClaim {
    const invalid = () => new FerryError('TOKEN_INVALID', 'this download link is not valid');
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) throw invalid();
    const given = Buffer.from(mac);
    const signedByOneOfOurs = this.#keys.some((key) => {
      const expected = Buffer.from(this.#mac(key, body));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!signedByOneOfOurs) throw invalid();
    const [exportId, exp, part] = Buffer.from(body, 'base64url').toString('utf8').split('.');
    const expiresAt = new Date(Number(exp) * 1000);
    if (!exportId || Number.isNaN(expiresAt.getTime())) throw invalid();
    const file = part === undefined ? undefined : part === 'm' ? ('manifest' as const) : Number(part);
    if (expiresAt.getTime() <= now.getTime()) {
      throw new FerryError('TOKEN_EXPIRED', `this download link expired at ${expiresAt.toISOString()}`);
    }
    return { exportId, expiresAt, ...(file === undefined ? {} : { file }) };
  }

  #mac(key: Buffer, body: string): string {
    return createHmac('sha256', key).update(body).digest('base64url');
  }
}
