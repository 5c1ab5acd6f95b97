export type WebhookVerificationCode =
  /** A header the scheme needs is absent (`header` says which). */
  | 'MISSING_HEADER'
  /** No signature matches: wrong key or secret, or the body, id or timestamp was altered. */
  | 'INVALID_SIGNATURE'
  /** `webhook-timestamp` is not a whole number of seconds. */
  | 'INVALID_TIMESTAMP'
  /** `webhook-timestamp` is older than the tolerance: a replay, or a clock far behind. */
  | 'TIMESTAMP_TOO_OLD'
  /** `webhook-timestamp` is further ahead than the tolerance. */
  | 'TIMESTAMP_TOO_NEW'
  /** The body is not the JSON object the scheme signs. */
  | 'INVALID_BODY'
  /** The key or secret given to the verifier is unusable (empty, or not base64 after `whsec_`). */
  | 'INVALID_SECRET';

/** A webhook that must be rejected (answer 401). The message never contains a secret or a signature. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(
    readonly code: WebhookVerificationCode,
    message: string,
    /** The header concerned, when there is one. */
    readonly header?: string,
  ) {
    super(message);
  }
}
