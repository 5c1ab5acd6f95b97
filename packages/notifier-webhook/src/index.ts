export { webhookNotifier, webhookOptionsSchema, type WebhookPluginOptions } from './plugin.js';
export { createWebhookNotifier, DEFAULTS, type WebhookNotifier, type WebhookNotifierOptions } from './notifier.js';
export {
  isGlobalAddress,
  nonGlobalReason,
  createAddressPolicy,
  parseAllowCidrs,
  InvalidCidrError,
  type AddressPolicy,
} from './address-policy.js';
export {
  parseTarget,
  vetAddresses,
  systemResolver,
  createSystemResolver,
  TargetRefusedError,
  HostNotFoundError,
  allowCidrsHint,
  type Resolver,
  type SystemResolverOptions,
  type ParsedTarget,
} from './target.js';
export { createGuardedConnector, ConnectTimeoutError, type Dialer } from './connector.js';
export { signPayload } from './sign.js';
export { parseRetryAfter, MAX_RETRY_AFTER_MS } from './retry-after.js';
export { classifyResponse, RESPONSE_BODY_LIMIT } from './deliver.js';
export { createSecret, signingHeaders, standardSignature } from './schemes.js';
