import { createHmac } from 'node:crypto';

/**
 * The seed scheme, byte for byte what the documented receivers compute:
 * `crypto.createHmac('sha256', apiKey).update(JSON.stringify(payload)).digest('hex')`.
 * Note it signs the *payload* (the client's original query), not the request body.
 */
export function signPayload(key: string, payload: unknown): string {
  const json = JSON.stringify(payload);
  // JSON.stringify(undefined) is undefined; sign the empty string rather than crash, like `hmac.update('')`.
  return createHmac('sha256', key)
    .update(json ?? '')
    .digest('hex');
}
