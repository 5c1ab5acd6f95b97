import { createHmac, randomBytes } from 'node:crypto';
import type { SigningScheme, SigningSpec } from '@ferry/core';

const WHSEC = 'whsec_';

/** `whsec_` + base64 of 32 random bytes: the Standard Webhooks secret format (24+ bytes required). */
export function createSecret(_scheme: SigningScheme): string {
  return `${WHSEC}${randomBytes(32).toString('base64')}`;
}

/**
 * Standard Webhooks `v1`: base64 HMAC-SHA256 over `id.timestamp.body`, keyed by the base64-decoded
 * secret (the `whsec_` prefix is not part of the key).
 */
export function standardSignature(secret: string, id: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.startsWith(WHSEC) ? secret.slice(WHSEC.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')}`;
}

/** Headers a scheme adds at send time. The seed scheme's signature travels with the message already. */
export function signingHeaders(signing: SigningSpec | undefined, message: { id: string; body: string }, now: Date): Record<string, string> {
  if (!signing || signing.scheme === 'ferry-hmac') return {};
  const [current, ...previous] = signing.secrets;
  if (current === undefined) throw new Error(`no secret to sign with for scheme ${signing.scheme}`);
  if (signing.scheme === 'secret-header') {
    // One header can carry one secret; during a rotation the previous one rides along separately.
    return previous[0] === undefined
      ? { 'x-webhook-secret': current }
      : { 'x-webhook-secret': current, 'x-webhook-secret-previous': previous[0] };
  }
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(timestamp),
    // Every active secret signs, so receivers on the old or the new one both verify during a rotation.
    'webhook-signature': signing.secrets.map((s) => standardSignature(s, message.id, timestamp, message.body)).join(' '),
  };
}
