import { createHash, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';

/** The body exactly as received: a string, or the bytes (a Node `Buffer` is a `Uint8Array`). */
export type RawBody = string | Uint8Array;

/** A `Headers` (fetch, Hono, Next) or a plain object (Node `req.headers`, Express, Fastify, Koa). */
export type WebhookHeaders = Headers | { get(name: string): string | null } | Record<string, string | readonly string[] | undefined>;

/** One key or secret, or several (during a rotation on your side): any of them may match. */
export type Secrets = string | readonly string[];

/** A header by name, case-insensitively; repeated values joined as Node joins them. */
export function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    return typeof value === 'string' ? value : value.join(', ');
  }
  return undefined;
}

export function requireHeader(headers: WebhookHeaders, name: string): string {
  const value = header(headers, name);
  if (value === undefined || value === '') throw new WebhookVerificationError('MISSING_HEADER', `the ${name} header is missing`, name);
  return value;
}

export function bytesOf(body: RawBody): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('pass the raw request body (a string or a Buffer), not a parsed object: signatures cover the exact bytes sent');
}

export function parseJsonBody<T>(body: RawBody): T {
  try {
    return JSON.parse(bytesOf(body).toString('utf8')) as T;
  } catch {
    throw new WebhookVerificationError('INVALID_BODY', 'the body is not JSON');
  }
}

export function secretList(secrets: Secrets): readonly string[] {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new WebhookVerificationError('INVALID_SECRET', 'no key or secret to verify with (an empty one never matches)');
  }
  return list;
}

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

/** Equal, in time independent of where they differ and of their lengths (both sides are hashed first). */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
