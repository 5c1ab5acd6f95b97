import { Agent } from 'undici';
import { FerryError, type DeliveryResult, type FieldPath, type OutgoingWebhook, type WebhookDeliverOptions, type WebhookNotifier as WebhookNotifierContract } from '@ferry/core';
import { createAddressPolicy, InvalidCidrError, type AddressPolicy } from './address-policy.js';
import { createGuardedConnector, type Dialer } from './connector.js';
import { deliverOnce } from './deliver.js';
import { signPayload } from './sign.js';
import { createSecret, signingHeaders } from './schemes.js';
import { parseTarget, resolveHost, ResolveFailedError, systemResolver, TargetRefusedError, vetAddresses, type Resolver } from './target.js';

export const DEFAULTS = {
  timeoutMs: 15_000,
  connectTimeoutMs: 15_000,
  userAgent: 'Ferry-Webhooks/0.1',
} as const;

export interface WebhookNotifierOptions {
  /** CIDRs the operator trusts: targets inside them may be non-global and may use plain http. */
  allowCidrs?: readonly string[];
  /** Whole attempt: connect, send, response headers and the 4 KiB body excerpt. */
  timeoutMs?: number;
  /** DNS resolution plus TCP/TLS setup. */
  connectTimeoutMs?: number;
  userAgent?: string;
  /** Host name -> addresses, used both at validation and at connect time. Default: `dns.lookup` (all). */
  resolve?: Resolver;
  /** Replace the low-level dial (tests record what would be dialled). Receives vetted IPs only. */
  connect?: Dialer;
}

/** Core's webhook notifier contract (delivery plus target checks, signing and secrets), with the address policy it enforces. */
export interface WebhookNotifier extends WebhookNotifierContract {
  readonly policy: AddressPolicy;
  close(): Promise<void>;
}

export function createWebhookNotifier(options: WebhookNotifierOptions = {}): WebhookNotifier {
  let policy: AddressPolicy;
  try {
    policy = createAddressPolicy(options.allowCidrs ?? []);
  } catch (err) {
    if (err instanceof InvalidCidrError) {
      throw new FerryError('INVALID_OPTIONS', err.message, { path: ['allowCidrs', err.index], plugin: 'notifier:webhook' });
    }
    throw err;
  }
  const resolve = options.resolve ?? systemResolver;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const userAgent = options.userAgent ?? DEFAULTS.userAgent;

  const agent = new Agent({
    connect: createGuardedConnector({ policy, resolve, connectTimeoutMs, dial: options.connect }),
    // Backstops for the per-attempt signal, so a stuck socket cannot outlive the attempt budget.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  const context = { agent, policy, userAgent, defaultTimeoutMs: timeoutMs, vetted: new Map<string, URL>() };
  let closing: Promise<void> | undefined;
  return {
    name: 'webhook',
    policy,

    async validateTarget(url: string, path: FieldPath): Promise<void> {
      try {
        const target = parseTarget(url);
        const addresses = target.literal ? [target.host] : await resolveHost(resolve, target.host, connectTimeoutMs);
        vetAddresses(addresses, target, policy);
      } catch (err) {
        if (err instanceof TargetRefusedError) throw new FerryError('INVALID_WEBHOOK_URL', err.message, { path });
        if (err instanceof ResolveFailedError) throw new FerryError('TRANSIENT', err.message, { path, cause: err });
        throw err;
      }
    },

    signPayload,
    createSecret,

    deliver(message: OutgoingWebhook, opts: WebhookDeliverOptions = {}): Promise<DeliveryResult> {
      // Signed here, at send time: Standard Webhooks timestamps must be fresh on every attempt.
      const signed = { ...message, headers: { ...message.headers, ...signingHeaders(opts.signing, message, new Date()) } };
      return deliverOnce(context, signed, opts);
    },

    close(): Promise<void> {
      // Idempotent: undici refuses to close an agent twice.
      return (closing ??= agent.close());
    },
  };
}
