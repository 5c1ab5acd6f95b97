import { createHash } from 'node:crypto';

/**
 * A delivery id derived from what it announces, so a job that completes twice (a worker died after
 * writing the file but before committing) produces the same id and receivers can dedupe.
 */
export function deliveryId(exportId: string, eventType: string): string {
  return `msg_${createHash('sha256').update(`${exportId}\0${eventType}`).digest('base64url').slice(0, 27)}`;
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
