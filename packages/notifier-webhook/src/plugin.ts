import { z } from 'zod';
import { definePlugin } from '@ferry/core';
import { parseCidr } from './ip.js';
import { createWebhookNotifier, DEFAULTS } from './notifier.js';

const timeout = (def: number) => z.number().int().positive().max(600_000).default(def);

export const webhookOptionsSchema = z.strictObject({
  // Checked here too (not only at create) so config errors point at `...options.allowCidrs[i]`.
  allowCidrs: z.array(z.string().refine((s) => parseCidr(s) !== null, 'not a valid CIDR (e.g. 10.0.0.0/8)')).default([]),
  timeoutMs: timeout(DEFAULTS.timeoutMs),
  connectTimeoutMs: timeout(DEFAULTS.connectTimeoutMs),
  // Printable ASCII only: it becomes a header value.
  userAgent: z.string().regex(/^[\x20-\x7e]+$/, 'printable ASCII').max(256).default(DEFAULTS.userAgent),
});

export type WebhookPluginOptions = z.output<typeof webhookOptionsSchema>;

export const webhookNotifier = definePlugin({
  kind: 'notifier',
  name: 'webhook',
  description: 'Signed HTTPS webhooks through an SSRF-guarded, DNS-pinning undici agent',
  options: webhookOptionsSchema,
  // Receivers dedupe on `webhook-id`; the notifier itself sends every attempt.
  capabilities: { ssrfGuard: true, dnsPinning: true, followsRedirects: false, deduplicatesById: false, usesTargetUrl: true },
  create: (options) => createWebhookNotifier(options),
});
