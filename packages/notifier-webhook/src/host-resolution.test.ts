import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { createWebhookNotifier } from './notifier.js';
import { createSystemResolver, type Resolver } from './target.js';
import { recordingDialer, startDnsServer, startServer, tableResolver, type TestDnsServer } from './test-support.js';

const PATH = ['webhookURL'] as const;

/** Validation never connects; every notifier here shares one dialer, checked at the end. */
const tripwire = recordingDialer();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  expect(tripwire.dialled.filter((d) => !d.startsWith('127.0.0.1:'))).toEqual([]);
});

function notifier(resolve: Resolver, extra: { allowCidrs?: string[]; connectTimeoutMs?: number } = {}) {
  const n = createWebhookNotifier({ resolve, connect: tripwire.dial, ...extra });
  closers.push(() => n.close());
  return n;
}

async function outcome(n: ReturnType<typeof notifier>, url: string): Promise<{ code: string; status: number; message: string } | 'accepted'> {
  const err: unknown = await n.validateTarget(url, PATH).then(
    () => null,
    (e: unknown) => e,
  );
  if (err === null) return 'accepted';
  expect(err).toBeInstanceOf(FerryError);
  const fe = err as FerryError;
  expect(fe.path).toEqual(PATH);
  return { code: fe.code, status: fe.status, message: fe.message };
}

const resolverError = (code: string) => () => {
  throw Object.assign(new Error(`resolver said ${code}`), { code });
};

describe('webhook hosts that do not resolve', () => {
  // Validation never connects: each test here must leave the dialer untouched (whatever ran before it).
  let dialsBefore = 0;
  beforeEach(() => {
    dialsBefore = tripwire.dialled.length;
  });
  afterEach(() => {
    expect(tripwire.dialled.length, 'validating a host dialled it').toBe(dialsBefore);
  });
  const resolver = tableResolver({
    'empty.example.com': [],
    'again.example.com': resolverError('EAI_AGAIN'),
    'servfail.example.com': resolverError('ESERVFAIL'),
    'timeout.example.com': resolverError('ETIMEOUT'),
    'refused.example.com': resolverError('ECONNREFUSED'),
    'nodata.example.com': resolverError('ENODATA'),
  });
  const n = notifier(resolver);

  it('answers 400 INVALID_WEBHOOK_URL saying the host does not exist for a name DNS does not have (NXDOMAIN)', async () => {
    expect(await outcome(n, 'https://hooks.no-such-company.example/ferry')).toEqual({
      code: 'INVALID_WEBHOOK_URL',
      status: 400,
      message: 'webhook host "hooks.no-such-company.example" does not exist (DNS has no such name)',
    });
  });

  it('answers 400 for a name that exists but has no address', async () => {
    for (const host of ['empty.example.com', 'nodata.example.com']) {
      expect(await outcome(n, `https://${host}/ferry`)).toEqual({
        code: 'INVALID_WEBHOOK_URL',
        status: 400,
        message: `webhook host "${host}" has no IPv4 or IPv6 address`,
      });
    }
  });

  it.each(['again', 'servfail', 'timeout', 'refused'])('keeps a resolver failure (%s) a retryable 503 TRANSIENT', async (name) => {
    expect(await outcome(n, `https://${name}.example.com/ferry`)).toMatchObject({ code: 'TRANSIENT', status: 503 });
  });

  it('answers 503 TRANSIENT when the resolver does not answer at all, instead of holding the request', async () => {
    const silent = notifier(() => new Promise<string[]>(() => {}), { connectTimeoutMs: 50 });
    expect(await outcome(silent, 'https://slow.example.com/ferry')).toMatchObject({ code: 'TRANSIENT', status: 503 });
  });
});

describe('the system resolver, when getaddrinfo answers EAI_AGAIN', () => {
  let dns: TestDnsServer;
  let n: ReturnType<typeof notifier>;
  const lookups: string[] = [];
  beforeAll(async () => {
    dns = await startDnsServer({
      'bare.example.com': 'NODATA',
      'flaky.example.com': 'SERVFAIL',
      'alive.example.com': ['93.184.216.34'],
    });
    closers.push(() => dns.close());
    // Stands in for getaddrinfo behind a forwarder that fails the AAAA question: "temporary failure".
    const lookup = async (hostname: string): Promise<string[]> => {
      lookups.push(hostname);
      throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' });
    };
    n = notifier(createSystemResolver({ lookup, dnsServers: [dns.address], confirmTimeoutMs: 2_000 }));
  });

  it('asks DNS directly, and a definite NXDOMAIN becomes a 400 saying the host does not exist', async () => {
    expect(await outcome(n, 'https://gone.example.com/ferry')).toEqual({
      code: 'INVALID_WEBHOOK_URL',
      status: 400,
      message: 'webhook host "gone.example.com" does not exist (DNS has no such name)',
    });
    expect(dns.questions).toContain('gone.example.com');
  });

  it('reports a name with no address records as such', async () => {
    expect(await outcome(n, 'https://bare.example.com/ferry')).toMatchObject({ code: 'INVALID_WEBHOOK_URL', status: 400, message: expect.stringMatching(/has no IPv4 or IPv6 address/) });
  });

  it('keeps 503 TRANSIENT when DNS itself fails, or when the name does exist', async () => {
    expect(await outcome(n, 'https://flaky.example.com/ferry')).toMatchObject({ code: 'TRANSIENT', status: 503 });
    expect(await outcome(n, 'https://alive.example.com/ferry')).toMatchObject({ code: 'TRANSIENT', status: 503 });
  });

  it('keeps 503 TRANSIENT when the DNS server cannot be reached', async () => {
    const down = await startDnsServer({});
    await down.close();
    const lookup = async (): Promise<string[]> => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };
    const offline = notifier(createSystemResolver({ lookup, dnsServers: [down.address], confirmTimeoutMs: 200 }));
    expect(await outcome(offline, 'https://gone.example.com/ferry')).toMatchObject({ code: 'TRANSIENT', status: 503 });
  });

  it('does not second-guess a single-label name, which getaddrinfo expands with the search list', async () => {
    const asked = dns.questions.length;
    expect(await outcome(n, 'https://intranet/ferry')).toMatchObject({ code: 'TRANSIENT', status: 503 });
    expect(dns.questions.length).toBe(asked);
  });

  it('passes getaddrinfo’s own answers through without asking DNS again', async () => {
    const asked = dns.questions.length;
    const direct = notifier(
      createSystemResolver({
        lookup: async (h) => {
          if (h === 'public.example.com') return ['93.184.216.34'];
          throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
        },
        dnsServers: [dns.address],
      }),
    );
    expect(await outcome(direct, 'https://public.example.com/ferry')).toBe('accepted');
    expect(await outcome(direct, 'https://missing.example.com/ferry')).toMatchObject({ code: 'INVALID_WEBHOOK_URL', message: expect.stringMatching(/does not exist/) });
    expect(dns.questions.length).toBe(asked);
  });
});

describe('trailing-dot host names', () => {
  // A fresh table per test: its `calls` are asserted, and tests run in any order.
  const newResolver = () => tableResolver({ 'receiver.test': ['127.0.0.1'], 'hooks.example.com': ['93.184.216.34'] });

  it('are resolved as the plain name, so hosts-file style entries match and private answers are refused', async () => {
    const resolver = newResolver();
    const n = notifier(resolver);
    const refused = await outcome(n, 'https://receiver.test./hook');
    expect(refused).toMatchObject({ code: 'INVALID_WEBHOOK_URL', message: expect.stringMatching(/must resolve only to public addresses/) });
    expect(await outcome(n, 'https://hooks.example.com./hook')).toBe('accepted');
    expect(resolver.calls).toEqual(['receiver.test', 'hooks.example.com']);
  });

  it('are refused when they spell localhost, and when a label is empty', async () => {
    const n = notifier(newResolver());
    for (const url of ['https://localhost./hook', 'https://LOCALHOST./hook', 'https://api.localhost./hook', 'https://localhost../hook', 'https://a..example.com/hook']) {
      expect(await outcome(n, url), url).toMatchObject({ code: 'INVALID_WEBHOOK_URL', status: 400 });
    }
  });

  it('meet allowCidrs like the plain name, and delivery dials the vetted address', async () => {
    const server = await startServer((_req, res) => res.end('ok'));
    closers.push(() => server.close());
    const n = notifier(newResolver(), { allowCidrs: ['127.0.0.1/32'] });
    const url = `http://receiver.test.:${server.port}/hook`;
    expect(await outcome(n, url)).toBe('accepted');
    const result = await n.deliver({ id: 'msg_1', url, body: '{}', headers: {} }, {});
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(tripwire.dialled).toContain(`127.0.0.1:${server.port}`);
    expect(server.requests).toHaveLength(1);
  });
});

describe('refusals say how to open a private range', () => {
  const n = notifier(tableResolver({ 'internal.example.com': ['10.0.0.5'] }));

  it.each(['https://127.0.0.1/hook', 'https://10.1.2.3/hook', 'https://[::1]/hook', 'https://localhost/hook', 'https://internal.example.com/hook'])(
    '%s names FERRY_WEBHOOK_ALLOW_CIDRS',
    async (url) => {
      const result = await outcome(n, url);
      expect(result).toMatchObject({ code: 'INVALID_WEBHOOK_URL', message: expect.stringContaining('FERRY_WEBHOOK_ALLOW_CIDRS') });
      // Still no oracle: what the name resolved to stays private.
      expect(result === 'accepted' ? '' : result.message).not.toContain('10.0.0.5');
    },
  );

  it('does not suggest opening ranges no receiver lives in', async () => {
    for (const url of ['https://224.0.0.1/hook', 'https://169.254.169.254/latest/meta-data/', 'https://[2001:db8::1]/hook']) {
      expect(await outcome(n, url), url).toMatchObject({ code: 'INVALID_WEBHOOK_URL', message: expect.not.stringContaining('ALLOW_CIDRS') });
    }
  });
});
