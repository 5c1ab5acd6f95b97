import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

/** The library's query encoding (RFC 3986 unreserved kept, everything else percent-encoded). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export type V4Verdict = { ok: true } | { ok: false; status: number; reason: string };

/**
 * Check a GOOG4-RSA-SHA256 query-signed request the way GCS does: rebuild the canonical request from
 * what arrived, verify the RSA signature with the account's public key, then the validity window.
 * Only `host` is supported as a signed header, which is all our store signs.
 */
export function verifyV4(req: { method: string; url: URL; hostHeader: string }, account: { clientEmail: string; publicKey: KeyObject }, now = Date.now()): V4Verdict {
  const q = req.url.searchParams;
  const signature = q.get('X-Goog-Signature');
  const date = q.get('X-Goog-Date');
  const expires = Number(q.get('X-Goog-Expires'));
  const credential = q.get('X-Goog-Credential') ?? '';
  if (q.get('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256' || !signature || !date || !Number.isInteger(expires)) {
    return { ok: false, status: 400, reason: 'malformed signed URL' };
  }
  const [email, ...scopeParts] = credential.split('/');
  if (email !== account.clientEmail) return { ok: false, status: 403, reason: 'unknown signer' };
  if (q.get('X-Goog-SignedHeaders') !== 'host') return { ok: false, status: 400, reason: 'only host may be signed here' };
  const query = [...q]
    .filter(([k]) => k !== 'X-Goog-Signature')
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  // The library signs the endpoint's hostname without the port (real GCS never has one), so drop it here too.
  const host = req.hostHeader.replace(/:\d+$/, '');
  const canonical = [req.method, req.url.pathname, query, `host:${host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const toSign = ['GOOG4-RSA-SHA256', date, scopeParts.join('/'), createHash('sha256').update(canonical).digest('hex')].join('\n');
  if (!verify('sha256', Buffer.from(toSign), account.publicKey, Buffer.from(signature, 'hex'))) {
    return { ok: false, status: 403, reason: 'SignatureDoesNotMatch' };
  }
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m) return { ok: false, status: 400, reason: 'bad X-Goog-Date' };
  const signedAt = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (now < signedAt - 60_000) return { ok: false, status: 400, reason: 'request is not yet valid' };
  if (now > signedAt + expires * 1000) return { ok: false, status: 400, reason: 'ExpiredToken' };
  return { ok: true };
}

export function publicKeyOf(privateKeyPem: string): KeyObject {
  return createPublicKey(privateKeyPem);
}
