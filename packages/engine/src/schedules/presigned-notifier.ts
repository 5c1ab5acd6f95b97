import type { Notifier } from '@ferry/core';

/**
 * The notifier as ExportService.submit sees it on a scheduled run: everything is the real
 * notifier's, except the seed HMAC, which is the signature computed when the schedule was saved.
 * The seed scheme is keyed by the API key and Ferry keeps keys only as hashes, so a schedule
 * cannot sign later; the signed payload (the saved query) never changes, so neither does the
 * signature.
 */
export function presignedNotifier(notifier: Notifier, hmacSignature: string): Notifier {
  return {
    name: notifier.name,
    validateTarget: (url, path) => notifier.validateTarget(url, path),
    signPayload: () => hmacSignature,
    createSecret: (scheme) => notifier.createSecret(scheme),
    deliver: (message, opts) => notifier.deliver(message, opts),
  };
}
