import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the receiver does with the next request to a path: answer with a status, or hang (a timeout). */
export type Reply = number | 'hang' | { status: number; headers: Record<string, string> };

export interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook receiver on 127.0.0.1 whose answers are scripted per path, recording every request.
 * Unscripted requests get 200.
 */
export async function startScriptedReceiver() {
  const hits: Hit[] = [];
  const scripts = new Map<string, Reply[]>();
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({ path, headers: req.headers, body: Buffer.concat(parts).toString('utf8'), at: Date.now() });
      const reply = scripts.get(path)?.shift() ?? 200;
      if (reply === 'hang') {
        hanging.add(res);
        return;
      }
      const { status, headers } = typeof reply === 'number' ? { status: reply, headers: {} } : reply;
      res.writeHead(status, headers).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    script(path: string, replies: Reply[]) {
      scripts.set(path, [...replies]);
    },
    to(path: string) {
      return hits.filter((h) => h.path === path);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
export type ScriptedReceiver = Awaited<ReturnType<typeof startScriptedReceiver>>;
