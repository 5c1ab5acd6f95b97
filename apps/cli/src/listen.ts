import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { WebhookPayload } from '@ferry/core';

export interface ListenOptions {
  port: number;
  host: string;
  apiKey: string;
  /** Download each completed export's file here. */
  outDir?: string;
  log: (line: string) => void;
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `ferry listen`: a webhook receiver for trying Ferry out. It verifies the seed signature (body
 * field and header) with your API key, prints the payload, and can download the file.
 */
export async function listen(options: ListenOptions): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      void (async () => {
        const parsed = WebhookPayload.safeParse(JSON.parse(Buffer.concat(parts).toString('utf8') || 'null'));
        if (!parsed.success) {
          options.log(`rejected a request to ${req.url}: not a Ferry export webhook`);
          res.writeHead(400).end('not a Ferry export webhook');
          return;
        }
        const hook = parsed.data;
        const expected = createHmac('sha256', options.apiKey).update(JSON.stringify(hook.payload)).digest('hex');
        const header = String(req.headers['sha256-hmac-signature'] ?? '');
        if (!sameHex(expected, hook.hmacSignature) || !sameHex(expected, header)) {
          options.log(`rejected export ${hook.queryUUID}: signature mismatch (is FERRY_API_KEY the key you exported with?)`);
          res.writeHead(401).end('Invalid signature');
          return;
        }
        res.writeHead(200).end('OK');
        options.log(
          `export ${hook.queryUUID} "${hook.name}" completed: ${hook.gcsBlob.numberRows} rows in ${hook.gcsBlob.timeTakenMs} ms\n` +
            `  download: ${hook.gcsBlob.url}\n  expires:  ${hook.gcsBlob.expires}`,
        );
        if (options.outDir) {
          const download = await fetch(hook.gcsBlob.url);
          const name = /filename="([^"]+)"/.exec(download.headers.get('content-disposition') ?? '')?.[1] ?? `${hook.queryUUID}.gz`;
          await mkdir(options.outDir, { recursive: true });
          const file = join(options.outDir, `${hook.queryUUID}-${name}`);
          await pipeline(Readable.fromWeb(download.body as WebReadableStream<Uint8Array>), createWriteStream(file));
          options.log(`  saved:    ${file}`);
        }
      })().catch((err: unknown) => {
        options.log(`failed to handle a webhook: ${String(err)}`);
        if (!res.headersSent) res.writeHead(400).end('bad request');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
