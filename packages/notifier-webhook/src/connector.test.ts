import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookNotifier } from './notifier.js';
import type { Dialer } from './connector.js';
import { startServer, tableResolver, type TestServer } from './test-support.js';

/*
 * The guarded connector's timeout: it bounds connecting, never an established connection, and a
 * dial that is still in progress when it fires is closed rather than leaked.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function receiver(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(handler);
  cleanups.push(() => s.close());
  return s;
}

/** A TCP listener on 127.0.0.1 that records when each accepted socket is closed by the peer. */
async function tcpListener(): Promise<{ server: Server; port: number; closed: Promise<void> }> {
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('close', () => markClosed());
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, closed };
}

const message = (url: string) => ({ id: 'msg_1', url, body: '{}', headers: {} });

describe('the guarded connector', () => {
  it('lets a connected request take longer than the connect timeout', async () => {
    const s = await receiver((_req, res) => setTimeout(() => res.writeHead(200).end('late but fine'), 300));
    const n = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], resolve: tableResolver({}), connectTimeoutMs: 100 });
    cleanups.push(() => n.close());
    const result = await n.deliver(message(s.url()), { timeoutMs: 5_000 });
    expect(result).toMatchObject({ ok: true, status: 200, responseBody: 'late but fine' });
  });

  it('closes a dial still in progress when the connect timeout fires', async () => {
    const listener = await tcpListener();
    // Opens the TCP connection but never reports it: a handshake that does not finish in time.
    const stalled: Dialer = (options) => connect({ host: options.hostname, port: listener.port });
    const n = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], resolve: tableResolver({}), connectTimeoutMs: 100, connect: stalled });
    cleanups.push(() => n.close());
    const result = await n.deliver(message(`http://127.0.0.1:${listener.port}/hook`), { timeoutMs: 5_000 });
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'connect timed out after 100 ms' });
    await listener.closed;
    expect(listener.server.listening).toBe(true);
  });

  it('closes a connection that arrives after the connect timeout fired', async () => {
    const listener = await tcpListener();
    let reported!: () => void;
    const lateReported = new Promise<void>((resolve) => (reported = resolve));
    // Reports its socket only after the timeout, and returns nothing the connector could close early.
    const late: Dialer = (options, callback) => {
      setTimeout(() => {
        const socket = connect({ host: options.hostname, port: listener.port }, () => {
          callback(null, socket);
          reported();
        });
      }, 250);
    };
    const n = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'], resolve: tableResolver({}), connectTimeoutMs: 100, connect: late });
    cleanups.push(() => n.close());
    const result = await n.deliver(message(`http://127.0.0.1:${listener.port}/hook`), { timeoutMs: 5_000 });
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'connect timed out after 100 ms' });
    await lateReported;
    await listener.closed;
    expect(listener.server.listening).toBe(true);
  });
});
