/**
 * `@ferry/client/webhooks`: verify the webhooks Ferry sends, in any Node HTTP framework, given the
 * raw body and the headers. Loads nothing but `node:crypto`.
 */
export { verifyFerryWebhook, HMAC_HEADER } from './ferry-hmac.js';
export { verifySecretHeader, SECRET_HEADER, PREVIOUS_SECRET_HEADER } from './secret-header.js';
export { verifyStandardWebhook, type StandardWebhookOptions } from './standard.js';
export { WebhookVerificationError, type WebhookVerificationCode } from './errors.js';
export type { RawBody, WebhookHeaders, Secrets } from './inputs.js';
export { isExportCompleted, type ExportWebhook, type ExportCompletedWebhook, type ExportFailedWebhook } from './payloads.js';
