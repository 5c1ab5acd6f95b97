import { afterEach, describe, expect, it } from 'vitest';
import type { OutgoingWebhook } from '@ferry/core';
import { createWebhookNotifier, type WebhookNotifier, type WebhookNotifierOptions } from './notifier.js';
import { recordingDialer, startServer, tableResolver, type TestServer } from './test-support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function server(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(handler);
  cleanups.push(() => s.close());
  return s;
}

function notifier(opts: WebhookNotifierOptions = {}): WebhookNotifier & { dialled: string[] } {
  const { dial, dialled } = recordingDialer();
  const n = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], resolve: tableResolver({}), connect: dial, ...opts });
  cleanups.push(() => n.close());
  return Object.assign(n, { dialled });
}

function message(url: string, extra: Partial<OutgoingWebhook> = {}): OutgoingWebhook {
  return { id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', url, body: JSON.stringify({ hello: 'world' }), headers: {}, ...extra };
}

describe('deliver', () => {
  it('POSTs the body with the standard headers and reports 2xx as ok', async () => {
    const s = await server((_req, res) => res.writeHead(204).end());
    const n = notifier({ userAgent: 'Ferry-Test/1' });
    const result = await n.deliver(
      message(s.url('/webhook?x=1'), { headers: { 'Webhook-Signature': 'v1,abc', Host: 'evil.example', 'Content-Length': '1' } }),
      {},
    );
    expect(result).toMatchObject({ ok: true, status: 204, retryable: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.error).toBeUndefined();
    const [req] = s.requests;
    expect(req).toMatchObject({ method: 'POST', url: '/webhook?x=1', body: '{"hello":"world"}' });
    expect(req!.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'Ferry-Test/1',
      'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      'webhook-signature': 'v1,abc',
      // Connection-level headers from the message are ignored, not forwarded.
      host: `127.0.0.1:${s.port}`,
      'content-length': '17',
    });
    expect(n.dialled).toEqual([`127.0.0.1:${s.port}`]);
  });

  it('keeps only the first 4 KiB of the response body', async () => {
    const s = await server((_req, res) => res.end('x'.repeat(10_000)));
    const result = await notifier().deliver(message(s.url()), {});
    expect(result.ok).toBe(true);
    expect(result.responseBody).toHaveLength(4096);
  });

  it('treats 5xx as a retryable failure and keeps the body excerpt', async () => {
    const s = await server((_req, res) => res.writeHead(500).end('database on fire'));
    const result = await notifier().deliver(message(s.url()), {});
    expect(result).toMatchObject({ ok: false, status: 500, retryable: true, responseBody: 'database on fire', error: 'HTTP 500' });
  });

  it.each([
    [404, false],
    [400, false],
    [401, false],
    [410, false],
    [408, true],
    [429, true],
    [502, true],
    [503, true],
  ])('HTTP %i -> retryable %s', async (status, retryable) => {
    const s = await server((_req, res) => res.writeHead(status).end());
    const result = await notifier().deliver(message(s.url()), {});
    expect(result).toMatchObject({ ok: false, status, retryable });
  });

  it('never forwards connection-level or proxy headers a message carries, and still delivers it', async () => {
    const s = await server((_req, res) => res.writeHead(204).end());
    const headers = {
      Connection: 'close',
      'Keep-Alive': 'timeout=5',
      'Transfer-Encoding': 'chunked',
      TE: 'trailers',
      Trailer: 'x-sig',
      Upgrade: 'websocket',
      Expect: '100-continue',
      'Proxy-Authorization': 'Basic c2VjcmV0',
      'Proxy-Connection': 'keep-alive',
      'x-custom': 'kept',
    };
    const result = await notifier().deliver(message(s.url(), { headers }), {});
    expect(result).toMatchObject({ ok: true, status: 204 });
    const received = s.requests[0]!.headers;
    expect(received['x-custom']).toBe('kept');
    for (const name of ['keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'proxy-authorization', 'proxy-connection']) {
      expect(received[name], name).toBeUndefined();
    }
    expect(received.connection).not.toBe('close');
  });

  it('reports HTTP 300 as a redirect, and a 4xx as its status, not as a redirect', async () => {
    const s = await server((req, res) => res.writeHead(req.url === '/multiple' ? 300 : 404).end());
    const n = notifier();
    expect(await n.deliver(message(s.url('/multiple')), {})).toMatchObject({ ok: false, status: 300, retryable: true, error: 'redirect (HTTP 300) not followed' });
    expect(await n.deliver(message(s.url('/missing')), {})).toMatchObject({ ok: false, status: 404, retryable: false, error: 'HTTP 404' });
  });

  it('honours Retry-After only on 429 and 503', async () => {
    const s = await server((_req, res) => res.writeHead(500, { 'retry-after': '7' }).end());
    const result = await notifier().deliver(message(s.url()), {});
    expect(result).toMatchObject({ ok: false, status: 500, retryable: true });
    expect(result.retryAfterMs).toBeUndefined();
  });

  it('keeps exactly the first 4 KiB of a response that arrives in many chunks', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200);
      for (let i = 0; i < 20; i++) res.write(String(i % 10).repeat(1000));
      res.end();
    });
    const result = await notifier().deliver(message(s.url()), {});
    const expected = Array.from({ length: 20 }, (_, i) => String(i % 10).repeat(1000)).join('').slice(0, 4096);
    expect(result.responseBody).toBe(expected);
  });

  it('reports a duration no longer than the call took', async () => {
    const s = await server((_req, res) => res.writeHead(204).end());
    const n = notifier();
    const before = performance.now();
    const result = await n.deliver(message(s.url()), {});
    expect(result.durationMs).toBeLessThanOrEqual(Math.ceil(performance.now() - before) + 1);
  });

  it('is stopped by the agent backstop when a call asks for more time than the notifier allows', async () => {
    const s = await server(() => {});
    const result = await notifier({ timeoutMs: 150 }).deliver(message(s.url()), { timeoutMs: 10_000 });
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'timed out waiting for the response' });
  });

  it('never follows a redirect: 3xx is a failed attempt and the Location is never requested', async () => {
    const elsewhere = await server((_req, res) => res.end('should not be here'));
    const s = await server((_req, res) => res.writeHead(301, { location: elsewhere.url('/internal/admin') }).end());
    const n = notifier();
    const result = await n.deliver(message(s.url()), {});
    expect(result).toMatchObject({ ok: false, status: 301, retryable: true });
    expect(result.error).toMatch(/redirect/);
    expect(s.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    expect(elsewhere.connections).toBe(0);
    expect(n.dialled).toEqual([`127.0.0.1:${s.port}`]);
  });

  it('passes Retry-After on 429 as retryAfterMs', async () => {
    const s = await server((_req, res) => res.writeHead(429, { 'retry-after': '7' }).end());
    const result = await notifier().deliver(message(s.url()), {});
    expect(result).toMatchObject({ ok: false, status: 429, retryable: true, retryAfterMs: 7000 });
  });

  it('accepts an HTTP-date Retry-After on 503 and caps it to an hour', async () => {
    const far = new Date(Date.now() + 3 * 3600_000).toUTCString();
    const s = await server((_req, res) => res.writeHead(503, { 'retry-after': far }).end());
    const result = await notifier().deliver(message(s.url()), {});
    expect(result).toMatchObject({ status: 503, retryable: true, retryAfterMs: 3600_000 });
  });

  it('times out a receiver that never answers, as a retryable failure', async () => {
    const s = await server(() => {
      /* never respond */
    });
    const result = await notifier().deliver(message(s.url()), { timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'timed out after 200 ms' });
    expect(result.status).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(150);
    expect(s.requests).toHaveLength(1);
  });

  it('counts an answer whose body stalls as answered when the attempt times out, with the excerpt so far', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200);
      res.write('accepted, still writing');
      // ...and never ends the body.
    });
    const result = await notifier().deliver(message(s.url()), { timeoutMs: 200 });
    expect(result).toMatchObject({ ok: true, status: 200, responseBody: 'accepted, still writing' });
    expect(result.durationMs).toBeGreaterThanOrEqual(150);
  });

  it('uses the configured timeoutMs when the call gives none', async () => {
    const s = await server(() => {});
    const result = await notifier({ timeoutMs: 150 }).deliver(message(s.url()), {});
    expect(result.error).toBe('timed out after 150 ms');
  });

  it('sends nothing, not even a connection, when the caller has already aborted', async () => {
    const s = await server((_req, res) => res.writeHead(204).end());
    const ac = new AbortController();
    ac.abort();
    const n = notifier();
    const result = await n.deliver(message(s.url()), { signal: ac.signal });
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'aborted' });
    expect(s.requests).toHaveLength(0);
    expect(s.connections).toBe(0);
    expect(n.dialled).toEqual([]);
  });

  it('reports a caller abort as retryable "aborted"', async () => {
    const s = await server(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const result = await notifier().deliver(message(s.url()), { signal: ac.signal, timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'aborted' });
  });

  it('enforces the connect timeout around resolution and dial', async () => {
    const n = createWebhookNotifier({
      allowCidrs: ['127.0.0.1/32'],
      connectTimeoutMs: 100,
      resolve: tableResolver({}),
      // A dial that hangs forever (never touches the network).
      connect: () => {},
    });
    cleanups.push(() => n.close());
    const result = await n.deliver(message('http://127.0.0.1:9/hook'), { timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'connect timed out after 100 ms' });
  });

  it('reports a refused connection as a retryable network error without addresses', async () => {
    const s = await server(() => {});
    const port = s.port;
    await s.close();
    const result = await notifier().deliver(message(`http://127.0.0.1:${port}/hook`), {});
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'network error: ECONNREFUSED' });
  });

  it('treats a name that stops resolving at delivery time as a retryable failure', async () => {
    const n = notifier({ resolve: tableResolver({}) });
    const result = await n.deliver(message('https://gone.example.com/hook'), {});
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'webhook host "gone.example.com" does not exist (DNS has no such name)' });
    expect(n.dialled).toEqual([]);
  });

  it('does not retry a message whose headers the HTTP client rejects (CR/LF injection)', async () => {
    const s = await server((_req, res) => res.end());
    const result = await notifier().deliver(message(s.url(), { headers: { 'x-sig': 'a\r\nx-injected: 1' } }), {});
    expect(result).toMatchObject({ ok: false, retryable: false, error: 'invalid request (rejected by the HTTP client)' });
    expect(s.requests).toHaveLength(0);
  });

  it('delivers by name through the pinned, vetted address', async () => {
    const s = await server((_req, res) => res.end('ok'));
    const resolve = tableResolver({ 'receiver.test': ['127.0.0.1'] });
    const n = notifier({ resolve });
    const result = await n.deliver(message(`http://receiver.test:${s.port}/hook`), {});
    expect(result).toMatchObject({ ok: true, status: 200 });
    // "receiver.test" has no real DNS: the socket went to the address our resolver vetted.
    expect(n.dialled).toEqual([`127.0.0.1:${s.port}`]);
    expect(s.requests[0]!.headers.host).toBe(`receiver.test:${s.port}`);
  });

  describe('refused targets: nothing is dialled', () => {
    it.each([
      'http://10.0.0.1/hook',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::ffff:127.0.0.1]/hook',
      'https://localhost/hook',
      'https://user:hunter2@127.0.0.1/hook',
      'ftp://127.0.0.1/hook',
    ])('%s', async (url) => {
      const n = notifier({ allowCidrs: [] });
      const result = await n.deliver(message(url), {});
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(result.error).toMatch(/^target refused: /);
      expect(result.error).not.toMatch(/hunter2/);
      expect(n.dialled).toEqual([]);
    });

    it('refuses plain http to 127.0.0.1 when it is not in allowCidrs', async () => {
      const s = await server((_req, res) => res.end());
      const n = notifier({ allowCidrs: [] });
      const result = await n.deliver(message(s.url()), {});
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(n.dialled).toEqual([]);
      expect(s.connections).toBe(0);
    });

    it('refuses at connect time when DNS rebinds to a private address after validation', async () => {
      const s = await server((_req, res) => res.end('reached'));
      let lookups = 0;
      const resolve = tableResolver({
        // First answer (validation) is public; every later answer points at our loopback server.
        'rebind.example.com': () => (lookups++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']),
      });
      const n = notifier({ allowCidrs: [], resolve });
      const url = `https://rebind.example.com:${s.port}/hook`;
      await expect(n.validateTarget(url, ['webhookURL'])).resolves.toBeUndefined();

      const result = await n.deliver(message(url), {});
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(result.error).toMatch(/^target refused: webhook host must resolve only to public addresses; .*FERRY_WEBHOOK_ALLOW_CIDRS/);
      expect(resolve.calls).toEqual(['rebind.example.com', 'rebind.example.com']);
      expect(n.dialled).toEqual([]);
      expect(s.connections).toBe(0);
      expect(s.requests).toHaveLength(0);
    });

    it('refuses at connect time when a name resolves to public and private addresses', async () => {
      const n = notifier({ allowCidrs: [], resolve: tableResolver({ 'split.example.com': ['93.184.216.34', '127.0.0.1'] }) });
      const result = await n.deliver(message('https://split.example.com/hook'), {});
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(n.dialled).toEqual([]);
    });
  });

  it('close() closes the agent', async () => {
    const s = await server((_req, res) => res.end());
    const n = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
    expect((await n.deliver(message(s.url()), {})).ok).toBe(true);
    await n.close();
    const after = await n.deliver(message(s.url()), {});
    expect(after.ok).toBe(false);
  });
});
