import { describe, expect, it } from 'vitest';
import { SIGNING_SCHEMES, isWebhookNotifier, type DeliveryResult, type Notifier } from './contracts.js';
import { silentLogger } from './logger.js';
import { TOKENS } from './tokens.js';

const sent: DeliveryResult = { ok: true, retryable: false, durationMs: 0 };
const notifier: Notifier = { name: 'nats', deliver: async () => sent };
const security = {
  validateTarget: async () => undefined,
  signPayload: () => 'sig',
  createSecret: () => 'whsec_x',
};

describe('isWebhookNotifier', () => {
  it('accepts a notifier that can check targets, sign payloads and create secrets', () => {
    expect(isWebhookNotifier({ ...notifier, ...security })).toBe(true);
  });

  it.each(['validateTarget', 'signPayload', 'createSecret'] as const)('refuses one without %s, so it cannot fill the webhook slot', (missing) => {
    expect(isWebhookNotifier({ ...notifier, ...security, [missing]: undefined })).toBe(false);
    expect(isWebhookNotifier({ ...notifier, ...security, [missing]: 'not a function' } as unknown as Notifier)).toBe(false);
  });

  it('refuses a plain notifier', () => {
    expect(isWebhookNotifier(notifier)).toBe(false);
  });
});

describe('shared vocabulary', () => {
  it('names the signing schemes, the seed scheme first', () => {
    expect(SIGNING_SCHEMES).toEqual(['ferry-hmac', 'secret-header', 'standard-webhooks']);
  });

  it('uses registered symbols as DI tokens, so every copy of core agrees on them', () => {
    expect(Object.fromEntries(Object.entries(TOKENS).map(([k, v]) => [k, Symbol.keyFor(v)]))).toEqual({
      Jobs: 'ferry.Jobs',
      Store: 'ferry.Store',
      Notifier: 'ferry.Notifier',
      Sources: 'ferry.Sources',
      Formats: 'ferry.Formats',
      Catalog: 'ferry.Catalog',
      Logger: 'ferry.Logger',
    });
  });

  it('gives plugins a logger that takes every level and says nothing', () => {
    for (const level of ['info', 'warn', 'error', 'debug'] as const) expect(silentLogger[level]({ a: 1 }, 'message')).toBeUndefined();
  });
});
