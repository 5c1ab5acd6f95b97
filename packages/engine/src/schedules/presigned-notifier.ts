import type { WebhookSecurity } from '@ferry/core';

/**
 * The webhook rules as ExportService.submit sees them on a scheduled run: everything is the real
 * notifier's, except the seed HMAC, which is the signature computed when the schedule was saved.
 * The seed scheme is keyed by the API key and Ferry keeps keys only as hashes, so a schedule
 * cannot sign later; the signed payload (the saved query) never changes, so neither does the
 * signature.
 */
export function presignedNotifier(notifier: WebhookSecurity, hmacSignature: string): WebhookSecurity {
  return {
    validateTarget: (url, path) => notifier.validateTarget(url, path),
    signPayload: () => hmacSignature,
    createSecret: (scheme) => notifier.createSecret(scheme),
  };
}
