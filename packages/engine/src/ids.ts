import { createHash, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 24 base62 characters from `bytes`, the shape of the seed's `evt_LcTuvSbcI9qWia4IWcy5Bmkg`. */
function base62(bytes: Buffer, length = 24): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += BASE62[bytes[i % bytes.length]! % 62];
  return out;
}

/**
 * An id for something a state change announces. With a `seed` it is derived, so a transition
 * that is retried (a worker died after writing the file but before committing) produces the
 * same id and receivers, and the outbox, dedupe; without one it is random.
 */
function stableId(prefix: string, seed?: string): string {
  const bytes = seed === undefined ? randomBytes(32) : createHash('sha256').update(seed).digest();
  return `${prefix}_${base62(bytes)}`;
}

export function eventId(seed?: string): string {
  return stableId('evt', seed);
}

/** The message id of an export's own webhook (sent as `webhook-id`). */
export function deliveryId(exportId: string, eventType: string): string {
  return stableId('msg', `${exportId}\0${eventType}`);
}

/** A file name from a user-given export name: safe on every OS and in a store key. */
export function fileSlug(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 100);
  return slug || 'export';
}
