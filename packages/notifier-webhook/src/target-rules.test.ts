import { afterAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { createWebhookNotifier, type WebhookNotifier } from './notifier.js';
import { recordingDialer, tableResolver } from './test-support.js';

/*
 * Each rule of a webhook URL on its own: every name below resolves to a public address, so when a
 * URL is refused it is the rule under test that refused it, not a failed lookup.
 */

const PATH = ['webhookURL'] as const;
const PUBLIC = ['93.184.216.34'];
const tripwire = recordingDialer();
const resolver = tableResolver({
  'hooks.example.com': PUBLIC,
  '.example.com': PUBLIC,
  'a..example.com': PUBLIC,
  'example.com.': PUBLIC,
  'api.localhost': PUBLIC,
  'hooks.localhost.example.com': PUBLIC,
  'split.example.com': ['127.0.0.1', '93.184.216.34'],
  'eai.example.com': () => {
    throw Object.assign(new Error('getaddrinfo EAI_NONAME eai.example.com'), { code: 'EAI_NONAME' });
  },
});
const open = createWebhookNotifier({ resolve: resolver, connect: tripwire.dial });
const allowingLoopback = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], resolve: resolver, connect: tripwire.dial });

afterAll(async () => {
  await open.close();
  await allowingLoopback.close();
  // Validation only ever asks the resolver.
  expect(tripwire.dialled).toEqual([]);
});

async function refusal(url: string, n: WebhookNotifier = open): Promise<string> {
  const err: unknown = await n.validateTarget(url, PATH).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `${url} should be refused`).toBeInstanceOf(FerryError);
  expect(err).toMatchObject({ code: 'INVALID_WEBHOOK_URL', status: 400, path: PATH });
  return (err as FerryError).message;
}

describe('webhook URL rules', () => {
  it('accepts the plain https name these cases vary', async () => {
    await expect(open.validateTarget('https://hooks.example.com/hook', PATH)).resolves.toBeUndefined();
  });

  it('refuses schemes other than http(s) even when the address is allowed', async () => {
    for (const url of ['ftp://127.0.0.1/hook', 'ws://127.0.0.1/hook', 'wss://hooks.example.com/hook']) {
      expect(await refusal(url, allowingLoopback), url).toBe('webhook URL must use https');
    }
  });

  it('refuses a password without a user name', async () => {
    const message = await refusal('https://:s3cret@hooks.example.com/hook');
    expect(message).toBe('webhook URL must not contain credentials (user:password@)');
    expect(message).not.toContain('s3cret');
  });

  it('refuses a host that is only a dot', async () => {
    expect(await refusal('https://./hook')).toBe('webhook URL has no host');
  });

  it.each(['https://.example.com/hook', 'https://a..example.com/hook', 'https://example.com../hook'])('refuses the empty label in %s', async (url) => {
    expect(await refusal(url)).toBe('webhook URL has an empty label in its host name');
  });

  it('refuses names under .localhost whatever they resolve to, and only those', async () => {
    expect(await refusal('https://api.localhost/hook')).toMatch(/^webhook URL must not point to localhost; use 127\.0\.0\.1 instead; .*adds 127\.0\.0\.1\/32 to FERRY_WEBHOOK_ALLOW_CIDRS/);
    await expect(open.validateTarget('https://hooks.localhost.example.com/hook', PATH)).resolves.toBeUndefined();
  });

  it('allows plain http only when every address of the name is inside allowCidrs', async () => {
    // One of the two addresses is public: plain http could carry the payload there unencrypted.
    expect(await refusal('http://split.example.com/hook', allowingLoopback)).toBe('webhook URL must use https');
    await expect(allowingLoopback.validateTarget('https://split.example.com/hook', PATH)).resolves.toBeUndefined();
  });

  it('treats getaddrinfo’s EAI_NONAME like NXDOMAIN: the client’s mistake, not an outage', async () => {
    expect(await refusal('https://eai.example.com/hook')).toBe('webhook host "eai.example.com" does not exist (DNS has no such name)');
  });

  it('says which address to allow for a private literal, with the right article', async () => {
    expect(await refusal('https://10.1.2.3/hook')).toBe(
      "webhook URL must not point to a private address; to allow it, the server's operator adds 10.1.2.3/32 to FERRY_WEBHOOK_ALLOW_CIDRS (notifier.options.allowCidrs in a config file)",
    );
    expect(await refusal('https://[fd00::1]/hook')).toMatch(/^webhook URL must not point to a unique-local address; .* adds fd00::1\/128 to /);
    expect(await refusal('https://0.0.0.0/hook')).toBe('webhook URL must not point to an unspecified ("this network") address');
  });

  it('for a name, says a range must be opened without saying which', async () => {
    const n = createWebhookNotifier({ resolve: tableResolver({ 'internal.example.com': ['10.0.0.5'] }), connect: tripwire.dial });
    try {
      expect(await refusal('https://internal.example.com/hook', n)).toBe(
        "webhook host must resolve only to public addresses; to allow it, the server's operator adds its range to FERRY_WEBHOOK_ALLOW_CIDRS (notifier.options.allowCidrs in a config file)",
      );
    } finally {
      await n.close();
    }
  });

  it('gives up on a resolver that never answers within the connect timeout, as TRANSIENT naming the timeout', async () => {
    const n = createWebhookNotifier({ resolve: () => new Promise<string[]>(() => {}), connectTimeoutMs: 50, connect: tripwire.dial });
    try {
      const err: unknown = await n.validateTarget('https://slow.example.com/hook', PATH).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TRANSIENT', message: 'could not resolve the webhook host (ETIMEOUT)' });
    } finally {
      await n.close();
    }
  });
});
