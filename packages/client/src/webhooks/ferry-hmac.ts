import { createHmac } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
import { constantTimeEqual, parseJsonBody, requireHeader, secretList, type RawBody, type Secrets, type WebhookHeaders } from './inputs.js';
import type { ExportWebhook } from './payloads.js';

export const HMAC_HEADER = 'SHA256-HMAC-Signature';

/**
 * The seed scheme, the default of export webhooks: `hmacSignature` in the body and the
 * `SHA256-HMAC-Signature` header must both equal the hex HMAC-SHA256 of `JSON.stringify(payload)`
 * keyed by the API key that submitted the export. It carries no timestamp, so dedupe on
 * `webhook-id` (or `queryUUID`) against replays. Returns the parsed webhook.
 */
export function verifyFerryWebhook<T extends { payload: unknown; hmacSignature: string } = ExportWebhook>(
  rawBody: RawBody,
  headers: WebhookHeaders,
  apiKey: Secrets,
): T {
  const keys = secretList(apiKey);
  const fromHeader = requireHeader(headers, HMAC_HEADER);
  const body = parseJsonBody<Partial<T> | null>(rawBody);
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('payload' in body)) {
    throw new WebhookVerificationError('INVALID_BODY', 'the body has no payload to verify');
  }
  if (typeof body.hmacSignature !== 'string') throw new WebhookVerificationError('INVALID_BODY', 'the body has no hmacSignature');
  // The seed receivers sign what they parsed back out; JSON.stringify(undefined) signs as ''.
  const signed = JSON.stringify(body.payload) ?? '';
  const valid = keys.some((key) => {
    const expected = createHmac('sha256', key).update(signed).digest('hex');
    // Both checks always run, so timing does not tell which one failed.
    const inBody = constantTimeEqual(expected, body.hmacSignature!);
    const inHeader = constantTimeEqual(expected, fromHeader);
    return inBody && inHeader;
  });
  if (!valid) throw new WebhookVerificationError('INVALID_SIGNATURE', 'the HMAC signature does not match this API key');
  return body as T;
}
