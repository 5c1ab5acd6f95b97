import { afterAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { createWebhookNotifier } from './notifier.js';
import { recordingDialer, startServer, tableResolver } from './test-support.js';

const PATH = ['webhookURL'] as const;

/** Validation never connects; the dialer is a tripwire that proves it. */
const tripwire = recordingDialer();
const resolver = tableResolver({
  'hooks.example.com': ['93.184.216.34'],
  'dual.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'internal.example.com': ['10.0.0.5'],
  'mixed.example.com': ['93.184.216.34', '10.0.0.5'],
  'mapped.example.com': ['::ffff:169.254.169.254'],
  'zoned.example.com': ['fe80::1%eth0'],
  'empty.example.com': [],
  'flaky.example.com': () => {
    throw Object.assign(new Error('queryA ETIMEOUT flaky.example.com'), { code: 'ETIMEOUT' });
  },
  'receiver.test': ['127.0.0.1'],
});
const notifier = createWebhookNotifier({ resolve: resolver, connect: tripwire.dial });

afterAll(async () => {
  await notifier.close();
  expect(tripwire.dialled).toEqual([]);
});

async function refusal(url: string, n = notifier): Promise<FerryError> {
  const err: unknown = await n.validateTarget(url, PATH).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `${url} should be refused`).toBeInstanceOf(FerryError);
  const fe = err as FerryError;
  expect(fe.code).toBe('INVALID_WEBHOOK_URL');
  expect(fe.status).toBe(400);
  expect(fe.path).toEqual(PATH);
  return fe;
}

describe('validateTarget', () => {
  it('accepts https to a name that resolves only to public addresses (resolver only, no connection)', async () => {
    await expect(notifier.validateTarget('https://hooks.example.com/webhook/dataset-export', PATH)).resolves.toBeUndefined();
    await expect(notifier.validateTarget('https://dual.example.com:8443/x?y=1', PATH)).resolves.toBeUndefined();
    await expect(notifier.validateTarget('https://93.184.216.34/hook', PATH)).resolves.toBeUndefined();
    await expect(notifier.validateTarget('https://[2606:4700:4700::1111]/hook', PATH)).resolves.toBeUndefined();
    expect(resolver.calls).toContain('hooks.example.com');
  });

  it('refuses plain http to a public target', async () => {
    expect((await refusal('http://hooks.example.com/webhook')).message).toMatch(/https/);
    await refusal('http://93.184.216.34/webhook');
  });

  it.each([
    'https://localhost/hook',
    'https://LOCALHOST./hook',
    'https://api.localhost/hook',
    'https://127.0.0.1/hook',
    'https://127.0.0.1./hook',
    'https://0x7f.1/hook', // hex, short form
    'https://0x7f000001/hook',
    'https://2130706433/hook', // decimal
    'https://017700000001/hook', // octal
    'https://0177.0.0.1/hook',
    'https://127.1/hook',
    'https://10.0.0.1/hook',
    'https://172.16.5.4/hook',
    'https://192.168.1.1/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://0xA9FEA9FE/latest/meta-data/',
    'https://100.64.0.1/hook',
    'https://0.0.0.0/hook',
    'https://0/hook',
    'https://224.0.0.1/hook',
    'https://255.255.255.255/hook',
    'https://[::1]/hook',
    'https://[::]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[::ffff:7f00:1]/hook',
    'https://[0000:0000:0000:0000:0000:ffff:7f00:0001]:9854/hook',
    'https://[64:ff9b::a9fe:a9fe]/hook',
    'https://[2002:a9fe:a9fe::]/hook',
    'https://[fc00::1]/hook',
    'https://[fd00:ec2::254]/hook',
    'https://[fe80::1]/hook',
    'https://[fe80::1%25eth0]/hook', // zone id: WHATWG URL refuses it outright
    'https://[2001:db8::1]/hook',
  ])('refuses %s', async (url) => {
    await refusal(url);
  });

  it('names the rule for literals without echoing the URL', async () => {
    const err = await refusal('https://169.254.169.254/latest/meta-data/iam?token=s3cret');
    expect(err.message).toMatch(/link-local/);
    expect(err.message).not.toMatch(/s3cret|meta-data/);
  });

  it('refuses credentials in the URL without repeating them', async () => {
    const err = await refusal('https://alice:hunter2@hooks.example.com/hook');
    expect(err.message).not.toMatch(/alice|hunter2/);
    await refusal('https://user:pass@hooks.example.com/hook');
    await refusal('https://token@hooks.example.com/hook');
  });

  it('refuses a name that resolves to a private address, without revealing it', async () => {
    const err = await refusal('https://internal.example.com/hook');
    expect(err.message).not.toContain('10.0.0.5');
  });

  it('refuses a name when any one of its addresses is private', async () => {
    await refusal('https://mixed.example.com/hook');
  });

  it('judges resolved IPv6 by the IPv4 it embeds, and ignores zone ids', async () => {
    await refusal('https://mapped.example.com/hook');
    await refusal('https://zoned.example.com/hook');
  });

  it('refuses names that do not resolve', async () => {
    await refusal('https://nowhere.example.com/hook');
    await refusal('https://empty.example.com/hook');
  });

  it('reports a resolver outage as TRANSIENT, not as the client’s fault', async () => {
    const err: unknown = await notifier.validateTarget('https://flaky.example.com/hook', PATH).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('TRANSIENT');
    expect((err as FerryError).retryable).toBe(true);
  });

  it.each(['ftp://hooks.example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', '/relative/path', 'https://'])(
    'refuses %j',
    async (url) => {
      await refusal(url);
    },
  );

  describe('with allowCidrs', () => {
    it('allows http inside an allowed CIDR, by literal or by name', async () => {
      const server = await startServer((_req, res) => res.end());
      const n = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], resolve: resolver, connect: tripwire.dial });
      try {
        await expect(n.validateTarget(`http://127.0.0.1:${server.port}/hook`, PATH)).resolves.toBeUndefined();
        await expect(n.validateTarget(`https://127.0.0.1:${server.port}/hook`, PATH)).resolves.toBeUndefined();
        await expect(n.validateTarget(`http://receiver.test:${server.port}/hook`, PATH)).resolves.toBeUndefined();
        // Only the allowed host: its neighbours and other private ranges stay closed.
        await refusal('http://127.0.0.2/hook', n);
        await refusal('http://10.0.0.1/hook', n);
        await refusal('http://localhost/hook', n); // names are refused before any address question
        // A public target is still https-only, even with an allow list.
        await refusal('http://hooks.example.com/hook', n);
        await refusal('http://mixed.example.com/hook', n);
      } finally {
        await n.close();
        await server.close();
      }
      expect(server.connections).toBe(0);
    });
  });
});
