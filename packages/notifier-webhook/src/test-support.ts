// Test-only helpers (not exported from the package). Everything here talks to 127.0.0.1 only.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildConnector } from 'undici';
import type { Dialer } from './connector.js';
import type { Resolver } from './target.js';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestServer {
  server: Server;
  port: number;
  url(path?: string): string;
  requests: ReceivedRequest[];
  /** TCP connections accepted, including ones that never sent a request. */
  connections: number;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1, port chosen by the OS. */
export async function startServer(handler: (req: ReceivedRequest, res: ServerResponse) => void): Promise<TestServer> {
  const state = { requests: [] as ReceivedRequest[], connections: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      state.requests.push(received);
      handler(received, res);
    });
  });
  server.on('connection', () => state.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Wraps undici's real connector, records every dial, and as a safety net refuses to dial
 * anything but 127.0.0.1: a test bug must never send traffic to another host.
 */
export function recordingDialer(): { dial: Dialer; dialled: string[] } {
  const real = buildConnector({ timeout: 5000 });
  const dialled: string[] = [];
  const dial: Dialer = (options, callback) => {
    dialled.push(`${options.hostname}:${options.port}`);
    if (options.hostname !== '127.0.0.1') {
      callback(new Error('test safety net: refusing to dial a non-loopback address'), null);
      return;
    }
    real(options, callback);
  };
  return { dial, dialled };
}

/** A resolver from a fixed table; unknown names fail like the system resolver does. Records lookups. */
export function tableResolver(table: Record<string, string[] | (() => string[])>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<string[]> => {
    calls.push(hostname);
    const entry = table[hostname];
    if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return typeof entry === 'function' ? entry() : entry;
  };
  return Object.assign(resolve, { calls });
}
