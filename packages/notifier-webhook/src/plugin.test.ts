import { describe, expect, it } from 'vitest';
import { FerryError, PluginRegistry, silentLogger } from '@ferry/core';
import { createWebhookNotifier } from './notifier.js';
import { webhookNotifier } from './plugin.js';
import { parseRetryAfter } from './retry-after.js';

const ctx = { logger: silentLogger, dataDir: '/nonexistent' };

describe('webhookNotifier plugin definition', () => {
  it('applies defaults', () => {
    expect(webhookNotifier.options.parse({})).toEqual({
      allowCidrs: [],
      timeoutMs: 15000,
      connectTimeoutMs: 15000,
      userAgent: 'Ferry-Webhooks/0.1',
    });
    expect(webhookNotifier).toMatchObject({ kind: 'notifier', name: 'webhook' });
  });

  it('creates a notifier through the registry', async () => {
    const registry = new PluginRegistry().register(webhookNotifier);
    const n = await registry.create('notifier', { use: 'webhook', options: { allowCidrs: ['10.0.0.0/8'] } }, ctx);
    expect(n.name).toBe('webhook');
    await n.close?.();
  });

  it('reports a bad CIDR at its exact config path', async () => {
    const registry = new PluginRegistry().register(webhookNotifier);
    const err: unknown = await registry
      .create('notifier', { use: 'webhook', options: { allowCidrs: ['10.0.0.0/8', '10.0.0.0/99'] } }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('INVALID_OPTIONS');
    expect((err as FerryError).path).toEqual(['notifier', 'options', 'allowCidrs', 1]);
  });

  it('refuses unknown options and header-breaking user agents', () => {
    expect(webhookNotifier.options.safeParse({ followRedirects: true }).success).toBe(false);
    expect(webhookNotifier.options.safeParse({ userAgent: 'a\r\nx-injected: 1' }).success).toBe(false);
    expect(webhookNotifier.options.safeParse({ timeoutMs: 0 }).success).toBe(false);
    expect(webhookNotifier.options.safeParse({ userAgent: 'x'.repeat(257) }).success).toBe(false);
    expect(webhookNotifier.options.safeParse({ userAgent: 'Acme-Hooks/2.0 (+https://acme.example)' }).success).toBe(true);
    expect(webhookNotifier.options.safeParse({ userAgent: 'x'.repeat(256) }).success).toBe(true);
  });

  it('declares that it guards against SSRF, pins DNS and never follows redirects', () => {
    expect(webhookNotifier.capabilities).toMatchObject({ ssrfGuard: true, dnsPinning: true, followsRedirects: false });
  });

  it('createWebhookNotifier rejects a bad CIDR with INVALID_OPTIONS at [allowCidrs, i]', () => {
    try {
      createWebhookNotifier({ allowCidrs: ['127.0.0.1/32', '::1/32', 'nonsense'] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FerryError);
      expect((err as FerryError).code).toBe('INVALID_OPTIONS');
      expect((err as FerryError).path).toEqual(['allowCidrs', 2]);
      expect((err as FerryError).plugin).toBe('notifier:webhook');
      expect((err as FerryError).message).toBe('allowCidrs[2] is not a valid CIDR: "nonsense"');
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-01-15T10:00:00Z');
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['0', 0],
    ['7', 7000],
    ['120', 120_000],
    ['999999', 3_600_000], // at most 1 h (docs/webhooks.md)
    ['Mon, 15 Jan 2024 10:00:30 GMT', 30_000],
    ['Mon, 15 Jan 2024 09:00:00 GMT', 0], // in the past: retry now
    ['Tue, 16 Jan 2024 10:00:00 GMT', 3_600_000],
    [' 120 ', 120_000],
    ['Mon, no date here', undefined],
    // V8 would read this as a date; an HTTP date starts with its day name.
    ['x Mon, 15 Jan 2024 10:00:30 GMT', undefined],
  ])('%j -> %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
