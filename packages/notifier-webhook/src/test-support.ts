// Test-only helpers (not exported from the package). Everything here talks to 127.0.0.1 only.
import { createSocket } from 'node:dgram';
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

export type DnsAnswer = 'NXDOMAIN' | 'SERVFAIL' | 'NODATA' | string[];

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for `dns.Resolver#setServers`. */
  address: string;
  /** Names asked, lower-cased, one entry per question. */
  questions: string[];
  close(): Promise<void>;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP): A queries get the table's IPv4 addresses,
 * other types NODATA; names not in the table are NXDOMAIN. Enough to drive the real c-ares resolver.
 */
export async function startDnsServer(table: Record<string, DnsAnswer>): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (query, peer) => {
    // Header (12 bytes), then one question: labels, a zero byte, type and class.
    let at = 12;
    const labels: string[] = [];
    while (at < query.length && query[at] !== 0) {
      const len = query[at]!;
      labels.push(query.subarray(at + 1, at + 1 + len).toString('latin1'));
      at += 1 + len;
    }
    const questionEnd = at + 5;
    const name = labels.join('.').toLowerCase();
    const type = query.readUInt16BE(at + 1);
    questions.push(name);
    const entry = table[name] ?? 'NXDOMAIN';
    const addresses = Array.isArray(entry) && type === 1 ? entry : [];
    const rcode = entry === 'NXDOMAIN' ? RCODE.NXDOMAIN : entry === 'SERVFAIL' ? RCODE.SERVFAIL : RCODE.NOERROR;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, authoritative, recursion desired copied, recursion available, rcode.
    header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses.length, 6);
    const records = addresses.map((ip) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      Buffer.from(ip.split('.').map(Number)).copy(rr, 12);
      return rr;
    });
    socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...records]), peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    address: `127.0.0.1:${socket.address().port}`,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
