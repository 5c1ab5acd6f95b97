import { createHmac } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
import { bytesOf, constantTimeEqual, parseJsonBody, requireHeader, secretList, type RawBody, type Secrets, type WebhookHeaders } from './inputs.js';

export interface StandardWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way; default 300 (the spec's 5 minutes). */
  toleranceSeconds?: number;
  /** The receiver's clock; default the current time. */
  now?: Date | number;
}

const WHSEC = 'whsec_';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-signature` holds one or more
 * space-separated `v1,<base64>` signatures of `<webhook-id>.<webhook-timestamp>.<body>`,
 * HMAC-SHA256 keyed by the base64-decoded `whsec_` secret; any one matching suffices (during a
 * rotation Ferry signs with both secrets). A timestamp outside the tolerance is refused, which
 * bounds replays; dedupe on `webhook-id` within it. Returns the parsed body.
 */
export function verifyStandardWebhook<T = unknown>(rawBody: RawBody, headers: WebhookHeaders, secret: Secrets, options: StandardWebhookOptions = {}): T {
  const keys = secretList(secret).map(secretKey);
  const id = requireHeader(headers, 'webhook-id');
  const timestamp = requireHeader(headers, 'webhook-timestamp');
  const signatures = requireHeader(headers, 'webhook-signature');
  checkTimestamp(timestamp, options);

  const body = bytesOf(rawBody);
  const candidates = signatures
    .split(' ')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3));
  let valid = false;
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
    for (const candidate of candidates) valid = constantTimeEqual(expected, candidate) || valid;
  }
  if (!valid) throw new WebhookVerificationError('INVALID_SIGNATURE', 'no v1 signature in webhook-signature matches this secret', 'webhook-signature');
  return parseJsonBody<T>(body);
}

function checkTimestamp(timestamp: string, options: StandardWebhookOptions): void {
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('INVALID_TIMESTAMP', 'webhook-timestamp is not a number of seconds', 'webhook-timestamp');
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime()) / 1000);
  const sent = Number(timestamp);
  if (sent < now - tolerance) throw new WebhookVerificationError('TIMESTAMP_TOO_OLD', `webhook-timestamp is more than ${tolerance} s old`, 'webhook-timestamp');
  if (sent > now + tolerance) throw new WebhookVerificationError('TIMESTAMP_TOO_NEW', `webhook-timestamp is more than ${tolerance} s in the future`, 'webhook-timestamp');
}

/** The HMAC key: the bytes the base64 after `whsec_` encodes. */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(WHSEC) ? secret.slice(WHSEC.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new WebhookVerificationError('INVALID_SECRET', 'the secret is not whsec_ followed by base64');
  }
  return key;
}
