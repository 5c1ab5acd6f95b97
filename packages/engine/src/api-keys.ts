import { createHash, randomBytes } from 'node:crypto';

/** API keys are stored only as their SHA-256: they are random and long, so no slow hash is needed. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `fk_${randomBytes(24).toString('base64url')}`;
}
