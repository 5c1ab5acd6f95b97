import { timingSafeEqual, createHash } from 'node:crypto';
import { FerryError } from '@ferry/core';

/** The account's key from `x-api-key`. */
export function apiKeyOf(headers: Record<string, unknown>): string | undefined {
  const value = headers['x-api-key'];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The operator's `Authorization: Bearer <FERRY_ADMIN_TOKEN>`. With no token configured the admin
 * API is off. Compared in constant time (as digests, so the length leaks nothing either).
 */
export function requireAdmin(adminToken: string | undefined, headers: Record<string, unknown>): void {
  if (!adminToken) throw new FerryError('NOT_FOUND', 'the admin API is off: set FERRY_ADMIN_TOKEN to turn it on');
  const header = headers['authorization'];
  const given = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '') : '';
  if (!given || !timingSafeEqual(digest(given), digest(adminToken))) {
    throw new FerryError('UNAUTHORIZED', 'this needs the admin token: send Authorization: Bearer <FERRY_ADMIN_TOKEN>');
  }
}
