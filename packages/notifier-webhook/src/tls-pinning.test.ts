/**
 * Pinning must not weaken TLS: we dial the vetted IP, but the certificate is still checked
 * against the URL's host name (undici sends SNI and verifies for `host`, not for the IP).
 * Uses a throwaway self-signed certificate (fixtures/), served on 127.0.0.1.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { buildConnector } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialer } from './connector.js';
import { createWebhookNotifier } from './notifier.js';
import { tableResolver } from './test-support.js';

/** A throwaway self-signed certificate for `receiver.test` (100-year validity), checked in so the test needs no tool. */
const tls = {
  key: readFileSync(new URL('./fixtures/receiver.test.key.pem', import.meta.url), 'utf8'),
  cert: readFileSync(new URL('./fixtures/receiver.test.cert.pem', import.meta.url), 'utf8'),
};

describe('https through the pinned address', () => {
  let server: Server;
  let port = 0;
  const servernames: Array<string | false | null> = [];

  beforeAll(async () => {
    server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end('tls ok'));
    server.on('secureConnection', (socket) => servernames.push(socket.servername));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function notifier() {
    const real = buildConnector({ ca: tls.cert, timeout: 5000 });
    const dialled: string[] = [];
    const dial: Dialer = (o, cb) => {
      dialled.push(o.hostname);
      if (o.hostname !== '127.0.0.1') return cb(new Error('test safety net'), null);
      real(o, cb);
    };
    const resolve = tableResolver({ 'receiver.test': ['127.0.0.1'], 'impostor.test': ['127.0.0.1'] });
    return { n: createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], resolve, connect: dial }), dialled };
  }

  it('verifies the certificate for the host name while dialling the vetted IP', async () => {
    const { n, dialled } = notifier();
    try {
      const r = await n.deliver({ id: 'e1', url: `https://receiver.test:${port}/hook`, body: '{}', headers: {} }, { timeoutMs: 5000 });
      expect(r).toMatchObject({ ok: true, status: 200, responseBody: 'tls ok' });
      expect(dialled).toEqual(['127.0.0.1']);
      expect(servernames.at(-1)).toBe('receiver.test');
    } finally {
      await n.close();
    }
  });

  it('fails (retryable) when the certificate does not match the host name', async () => {
    const { n } = notifier();
    try {
      const r = await n.deliver({ id: 'e2', url: `https://impostor.test:${port}/hook`, body: '{}', headers: {} }, { timeoutMs: 5000 });
      expect(r).toMatchObject({ ok: false, retryable: true, error: 'network error: ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      await n.close();
    }
  });
});
