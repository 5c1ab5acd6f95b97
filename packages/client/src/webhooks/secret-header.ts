import { WebhookVerificationError } from './errors.js';
import { constantTimeEqual, header, parseJsonBody, requireHeader, secretList, type RawBody, type Secrets, type WebhookHeaders } from './inputs.js';

export const SECRET_HEADER = 'x-webhook-secret';
/** During a rotation Ferry sends the previous secret here too, so receivers still on it keep verifying. */
export const PREVIOUS_SECRET_HEADER = 'x-webhook-secret-previous';

/**
 * Seed 002's scheme: the endpoint's secret travels in `x-webhook-secret` (or, during a rotation,
 * the previous one in `x-webhook-secret-previous`), compared in constant time. It signs nothing,
 * so it proves only who sent the request: use it over HTTPS.
 *
 * `verifySecretHeader(headers, secret)` checks the headers only; `verifySecretHeader(rawBody,
 * headers, secret)` also returns the parsed body, like the other verifiers.
 */
export function verifySecretHeader(headers: WebhookHeaders, secret: Secrets): void;
export function verifySecretHeader<T = unknown>(rawBody: RawBody, headers: WebhookHeaders, secret: Secrets): T;
export function verifySecretHeader<T = unknown>(...args: [WebhookHeaders, Secrets] | [RawBody, WebhookHeaders, Secrets]): T | void {
  const [rawBody, headers, secret] = args.length === 3 ? args : [undefined, ...args];
  const secrets = secretList(secret);
  const sent = [requireHeader(headers, SECRET_HEADER), header(headers, PREVIOUS_SECRET_HEADER)].filter((v): v is string => !!v);
  let valid = false;
  // Every pair is compared, so timing does not tell which secret (if any) matched.
  for (const s of secrets) for (const v of sent) valid = constantTimeEqual(s, v) || valid;
  if (!valid) throw new WebhookVerificationError('INVALID_SIGNATURE', `the ${SECRET_HEADER} header does not match the secret`, SECRET_HEADER);
  return rawBody === undefined ? undefined : parseJsonBody<T>(rawBody);
}
