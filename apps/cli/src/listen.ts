import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { FerryError } from '@ferry/core';

export interface ListenOptions {
  /** A number, or the text the user typed (`ferry listen 9000`); 0 picks a free port. */
  port: number | string;
  host: string;
  /** The API key the exports were submitted with (FERRY_API_KEY): it signs every export webhook. */
  apiKey: string | undefined;
  /** Download each completed export's files here. */
  outDir?: string;
  log: (line: string) => void;
}

export interface Listener {
  url: string;
  /** Stop accepting webhooks and wait for downloads already under way. */
  close: () => Promise<void>;
}

/** Big enough for a split export's list of thousands of parts; a receiver must still bound what it buffers. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * What every export webhook carries, whatever happened: the seed signature covers `payload`.
 * Objects are not strict: a receiver should accept fields a newer Ferry adds.
 */
const ExportEnvelope = z.object({
  queryUUID: z.string().min(1),
  name: z.string(),
  format: z.string(),
  payload: z.unknown(),
  hmacSignature: Hex64,
});

/** `export.completed`: the seed 001 payload; a split export adds every part and the manifest. */
const Completion = ExportEnvelope.extend({
  gcsBlob: z.object({
    url: z.url(),
    expires: z.string(),
    timeTakenMs: z.number(),
    numberRows: z.number(),
  }),
  completedOn: z.string(),
  files: z
    .array(z.object({ url: z.url(), name: z.string().min(1), rows: z.number(), bytes: z.number(), sha256: Hex64 }))
    .min(1)
    .optional(),
  manifestUrl: z.url().optional(),
});
type Completion = z.infer<typeof Completion>;

/** `export.failed`, sent when the export asked for `notifyOnFailure`. */
const Failure = ExportEnvelope.extend({
  error: z.object({ reason: z.string() }),
  failedOn: z.string().optional(),
});

const Manifest = z.object({ files: z.array(z.object({ name: z.string(), sha256: Hex64 })) });

type Outcome = { status: number; text: string };

/** Text from a webhook goes to a terminal: no escape sequences or line breaks of its own. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, ' ');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `ferry listen abc` must be one clear line, not a stack trace from `server.listen`. */
function parsePort(port: number | string): number {
  const text = String(port).trim();
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n > 65_535) {
    throw new FerryError('INVALID_OPTIONS', `listen: port must be a whole number from 0 to 65535, got ${JSON.stringify(String(port))}`);
  }
  return n;
}

/**
 * `ferry listen`: a webhook receiver for trying Ferry out. It verifies the seed signature (body
 * field and header) with your API key and prints every export webhook: completions (one file, or
 * a split export's parts and manifest) and failure notices. Given a folder, it downloads every
 * file and checks each part against the sha256 the webhook announced.
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  const apiKey = options.apiKey?.trim();
  if (!apiKey) {
    throw new FerryError(
      'INVALID_CONFIG',
      'listen needs FERRY_API_KEY: the API key your exports are submitted with, which signs their webhooks (FERRY_API_KEY=your-api-key npm run listen)',
    );
  }
  const port = parsePort(options.port);
  const { log } = options;
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    const done = work.catch((err: unknown) => log(`  failed:   ${err instanceof Error ? err.message : String(err)}`)).finally(() => pending.delete(done));
    pending.add(done);
  };

  const handle = async (req: IncomingMessage): Promise<Outcome> => {
    const raw = await readBody(req);
    if (raw === null) return { status: 413, text: 'body too large' };
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      log(`rejected a request to ${printable(req.url ?? '/')}: the body is not JSON`);
      return { status: 400, text: 'body is not JSON' };
    }
    const envelope = ExportEnvelope.safeParse(body);
    if (!envelope.success) {
      log(`rejected a request to ${printable(req.url ?? '/')}: not a Ferry export webhook (registered endpoints sign with their own secret, not your API key)`);
      return { status: 400, text: 'not a Ferry export webhook' };
    }
    const hook = envelope.data;
    const expected = createHmac('sha256', apiKey).update(JSON.stringify(hook.payload) ?? '').digest('hex');
    const header = String(req.headers['sha256-hmac-signature'] ?? '');
    if (!sameHex(expected, hook.hmacSignature) || !sameHex(expected, header)) {
      log(`rejected export ${printable(hook.queryUUID)}: signature mismatch (is FERRY_API_KEY the key you exported with?)`);
      return { status: 401, text: 'Invalid signature' };
    }

    const failure = Failure.safeParse(body);
    if (failure.success) {
      log(`export ${printable(hook.queryUUID)} "${printable(hook.name)}" failed: ${printable(failure.data.error.reason)}`);
      return { status: 200, text: 'OK' };
    }
    const completion = Completion.safeParse(body);
    if (!completion.success) {
      log(`rejected export ${printable(hook.queryUUID)}: signed, but neither a completion nor a failure notice`);
      return { status: 400, text: 'unknown export webhook' };
    }
    const done = completion.data;
    const parts = done.files && done.files.length > 1 ? ` in ${done.files.length} files` : '';
    log(
      `export ${printable(done.queryUUID)} "${printable(done.name)}" completed: ${done.gcsBlob.numberRows} rows${parts} in ${done.gcsBlob.timeTakenMs} ms\n` +
        `  download: ${done.gcsBlob.url}\n  expires:  ${done.gcsBlob.expires}`,
    );
    for (const file of done.files ?? []) log(`  file:     ${printable(file.name)} (${file.rows} rows, ${file.bytes} bytes) ${file.url}`);
    if (done.manifestUrl) log(`  manifest: ${done.manifestUrl}`);
    // Answer first: downloading can take longer than Ferry waits for a webhook answer.
    if (options.outDir) track(download(done, options.outDir, log));
    return { status: 200, text: 'OK' };
  };

  const server = createServer((req, res: ServerResponse) => {
    handle(req).then(
      ({ status, text }) => res.writeHead(status).end(text),
      (err: unknown) => {
        log(`failed to handle a webhook: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) res.writeHead(400).end('bad request');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new FerryError('INVALID_OPTIONS', `listen: port ${port} on ${options.host} is already in use; pick another (npm run listen -- <port>)`));
      else if (err.code === 'EACCES') reject(new FerryError('INVALID_OPTIONS', `listen: not allowed to use port ${port} on ${options.host}; pick one above 1023`));
      else reject(err);
    });
    server.listen(port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${address.port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await Promise.all(pending);
    },
  };
}

/** The whole body, or null past MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** A name from the sender as a plain file name in our folder: no directories, no `..`. */
function safeFileName(name: string, fallback: string): string {
  const plain = basename(name.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '');
  return plain === '' || plain === '.' || plain === '..' ? fallback : plain;
}

/** The name Ferry gives a download: the UTF-8 `filename*` when present, else `filename`. */
function dispositionName(header: string | null): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*=UTF-8''([^;\s]+)/i.exec(header)?.[1];
  if (extended) {
    try {
      return decodeURIComponent(extended);
    } catch {
      // fall through to the ASCII name
    }
  }
  return /filename="([^"]+)"/.exec(header)?.[1];
}

/** Stream one URL to a file, hashing as it goes; a file whose hash is not `sha256` is removed. */
async function fetchTo(url: string, file: string, sha256?: string): Promise<{ bytes: number; disposition: string | null }> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`GET ${url} answered ${res.status}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, next) {
      hash.update(chunk);
      bytes += chunk.length;
      next(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), tap, createWriteStream(file));
  const actual = hash.digest('hex');
  if (sha256 !== undefined && actual !== sha256) {
    await rm(file, { force: true });
    throw new Error(`${basename(file)}: sha256 mismatch (webhook said ${sha256}, downloaded ${actual}); file removed`);
  }
  return { bytes, disposition: res.headers.get('content-disposition') };
}

async function download(hook: Completion, outDir: string, log: (line: string) => void): Promise<void> {
  const id = safeFileName(hook.queryUUID, 'export');
  if (!hook.files || hook.files.length < 2) {
    await mkdir(outDir, { recursive: true });
    // The name comes with the response, so the bytes land under a temporary name first.
    const temporary = join(outDir, `${id}.download`);
    const { disposition } = await fetchTo(hook.gcsBlob.url, temporary, hook.files?.[0]?.sha256);
    const file = join(outDir, `${id}-${safeFileName(dispositionName(disposition) ?? '', `${id}.gz`)}`);
    await rename(temporary, file);
    log(`  saved:    ${file}`);
    return;
  }
  // A split export gets a folder of its own: the parts, then the manifest, which must list them.
  const folder = join(outDir, id);
  await mkdir(folder, { recursive: true });
  const failures: string[] = [];
  for (const [i, part] of hook.files.entries()) {
    const file = join(folder, safeFileName(part.name, `part-${i + 1}`));
    try {
      await fetchTo(part.url, file, part.sha256);
      log(`  saved:    ${file} (sha256 verified)`);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (hook.manifestUrl) {
    const file = join(folder, 'manifest.json');
    try {
      await fetchTo(hook.manifestUrl, file);
      const manifest = Manifest.parse(JSON.parse((await readFile(file)).toString('utf8')));
      const announced = hook.files.map((f) => `${f.name} ${f.sha256}`).join('\n');
      const listed = manifest.files.map((f) => `${f.name} ${f.sha256}`).join('\n');
      if (announced !== listed) throw new Error('manifest.json does not list the files the webhook announced');
      log(`  saved:    ${file} (lists every part)`);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (failures.length > 0) throw new Error(`export ${hook.queryUUID}: ${failures.join('; ')}`);
}
