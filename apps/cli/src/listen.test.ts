import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { contentDisposition, DownloadLinks } from '@ferry/engine';
import { createWebhookNotifier, signPayload } from '@ferry/notifier-webhook';
import { listen, type Listener } from './listen.js';

const API_KEY = 'listen-test-api-key';
const QUERY = { scopes: [{ column: 'msa' }], limit: 3 };

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Stands in for Ferry's `/downloads/<token>`: serves bytes by path, with Ferry's Content-Disposition. */
class FileServer {
  readonly files = new Map<string, { name: string; bytes: Buffer }>();
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const file = this.files.get(req.url ?? '');
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': contentDisposition(file.name) }).end(file.bytes);
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((r) => this.#server?.close(() => r()));
  }
}

const files = new FileServer();
let links: DownloadLinks;
/** The webhook notifier Ferry itself delivers with, allowed to reach this machine. */
const notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
let dir: string;

beforeAll(async () => {
  await files.start();
  links = new DownloadLinks(Buffer.alloc(32, 1).toString('base64url'), files.url);
  dir = await mkdtemp(join(tmpdir(), 'ferry-listen-'));
});
afterAll(async () => {
  await notifier.close();
  await files.close();
  await rm(dir, { recursive: true, force: true });
});

interface Export {
  id: string;
  name: string;
  requestedAt: Date;
  hmacSignature: string;
}

function newExport(name: string, key = API_KEY): Export {
  return { id: randomUUID(), name, requestedAt: new Date(), hmacSignature: signPayload(key, QUERY) };
}

/** Serve a stored file under its download link, as the export worker names and links it. */
function store(job: Export, expiresAt: Date, file: number | 'manifest' | undefined, name: string, bytes: Buffer): string {
  const url = links.url({ exportId: job.id, expiresAt, ...(file === undefined ? {} : { file }) });
  files.files.set(new URL(url).pathname, { name, bytes });
  return url;
}

/** The completion body, field for field as the export worker builds it (export-notices.ts). */
function completion(job: Export, parts: Array<{ name: string; bytes: Buffer; rows: number }>): string {
  const finishedAt = new Date();
  const expiresAt = new Date(finishedAt.getTime() + 86_400_000);
  const payload = {
    queryUUID: job.id,
    name: job.name,
    format: 'csv',
    payload: QUERY,
    hmacSignature: job.hmacSignature,
    gcsBlob: {
      url: store(job, expiresAt, undefined, parts[0]!.name, parts[0]!.bytes),
      expires: expiresAt.toISOString(),
      timeTakenMs: 42,
      numberRows: parts.reduce((n, p) => n + p.rows, 0),
    },
    requestedOn: job.requestedAt.toISOString(),
    completedOn: finishedAt.toISOString(),
  };
  if (parts.length === 1) return JSON.stringify(payload);
  const manifest = Buffer.from(`${JSON.stringify({ queryUUID: job.id, files: parts.map((p) => ({ name: p.name, rows: p.rows, bytes: p.bytes.length, sha256: sha256(p.bytes) })) }, null, 2)}\n`);
  return JSON.stringify({
    ...payload,
    files: parts.map((p, i) => ({ url: store(job, expiresAt, i, p.name, p.bytes), name: p.name, rows: p.rows, bytes: p.bytes.length, sha256: sha256(p.bytes) })),
    manifestUrl: store(job, expiresAt, 'manifest', `${parts[0]!.name.split('.')[0]}.manifest.json`, manifest),
  });
}

/** The opt-in failure notice, as the export worker builds it. */
function failure(job: Export, reason: string): string {
  return JSON.stringify({
    queryUUID: job.id,
    name: job.name,
    format: 'csv',
    payload: QUERY,
    hmacSignature: job.hmacSignature,
    error: { reason },
    requestedOn: job.requestedAt.toISOString(),
    failedOn: new Date().toISOString(),
  });
}

async function send(receiver: Listener, job: Export, body: string, headers: Record<string, string> = { 'SHA256-HMAC-Signature': job.hmacSignature }) {
  return notifier.deliver({ id: `msg_${randomUUID()}`, url: `${receiver.url}/webhook/dataset-export`, body, headers }, {});
}

async function receiver(outDir?: string): Promise<{ receiver: Listener; lines: string[] }> {
  const lines: string[] = [];
  const r = await listen({ port: 0, host: '127.0.0.1', apiKey: API_KEY, ...(outDir ? { outDir } : {}), log: (l) => lines.push(l) });
  return { receiver: r, lines };
}

describe('ferry listen accepts every webhook Ferry sends', () => {
  it('a single-file completion (the seed payload): answers 200 and saves the file', async () => {
    const out = join(dir, 'single');
    const { receiver: r, lines } = await receiver(out);
    const job = newExport('Seattle Rental Data');
    const bytes = Buffer.from('msa\nSeattle, WA\n');
    const result = await send(r, job, completion(job, [{ name: 'Seattle-Rental-Data.csv.gz', bytes, rows: 1 }]));
    await r.close();
    expect(result).toMatchObject({ ok: true, status: 200 });
    const saved = join(out, `${job.id}-Seattle-Rental-Data.csv.gz`);
    expect(await readFile(saved)).toEqual(bytes);
    expect(lines.join('\n')).toContain(`saved:    ${saved}`);
  });

  it('a split export: answers 200, downloads every part and the manifest, each checked against the payload’s sha256', async () => {
    const out = join(dir, 'split');
    const { receiver: r, lines } = await receiver(out);
    const job = newExport('Big Export');
    const parts = [1, 2, 3].map((n) => ({ name: `Big-Export.part-0000${n}.csv.gz`, bytes: Buffer.from(`msa\npart ${n}\n`.repeat(n * 100)), rows: n * 100 }));
    const result = await send(r, job, completion(job, parts));
    await r.close();
    expect(result).toMatchObject({ ok: true, status: 200 });
    const folder = join(out, job.id);
    expect((await readdir(folder)).sort()).toEqual([...parts.map((p) => p.name), 'manifest.json'].sort());
    for (const p of parts) expect(await readFile(join(folder, p.name))).toEqual(p.bytes);
    expect(JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8'))).toMatchObject({ queryUUID: job.id, files: parts.map((p) => ({ name: p.name, sha256: sha256(p.bytes) })) });
    expect(lines.filter((l) => l.includes('(sha256 verified)'))).toHaveLength(3);
    expect(lines.join('\n')).toContain('600 rows in 3 files');
  });

  it('a split export whose part does not match its sha256: the webhook is answered, the bad part is not kept', async () => {
    const out = join(dir, 'tampered');
    const { receiver: r, lines } = await receiver(out);
    const job = newExport('Tampered');
    const parts = [1, 2].map((n) => ({ name: `Tampered.part-0000${n}.csv.gz`, bytes: Buffer.from(`part ${n}\n`), rows: 1 }));
    const body = completion(job, parts);
    // The bytes behind the second link change after the webhook announced their hash.
    const second = (JSON.parse(body) as { files: Array<{ url: string }> }).files[1]!.url;
    files.files.set(new URL(second).pathname, { name: parts[1]!.name, bytes: Buffer.from('something else\n') });
    const result = await send(r, job, body);
    await r.close();
    expect(result).toMatchObject({ ok: true, status: 200 });
    const kept = await readdir(join(out, job.id));
    expect(kept).toContain(parts[0]!.name);
    expect(kept).not.toContain(parts[1]!.name);
    expect(lines.join('\n')).toMatch(new RegExp(`failed: .*${parts[1]!.name}: sha256 mismatch`));
  });

  it('a failure notice (no gcsBlob, an error.reason): prints it and answers 200', async () => {
    const { receiver: r, lines } = await receiver();
    const job = newExport('Doomed');
    const result = await send(r, job, failure(job, 'column "rent" does not exist\u001b[2J'));
    await r.close();
    expect(result).toMatchObject({ ok: true, status: 200 });
    // Printed as text: an escape sequence in the reason cannot drive the terminal.
    expect(lines).toContain(`export ${job.id} "Doomed" failed: column "rent" does not exist [2J`);
  });
});

describe('ferry listen still checks the signature', () => {
  it('refuses every kind signed with another key, or without the header, with 401', async () => {
    const { receiver: r, lines } = await receiver(join(dir, 'refused'));
    const forged = newExport('Forged', 'not-the-api-key');
    const bodies = [
      completion(forged, [{ name: 'Forged.csv.gz', bytes: Buffer.from('x'), rows: 1 }]),
      completion(forged, [1, 2].map((n) => ({ name: `Forged.part-0000${n}.csv.gz`, bytes: Buffer.from(`${n}`), rows: 1 }))),
      failure(forged, 'nope'),
    ];
    for (const body of bodies) expect(await send(r, forged, body)).toMatchObject({ ok: false, status: 401 });
    const honest = newExport('Headerless');
    expect(await send(r, honest, failure(honest, 'x'), {})).toMatchObject({ ok: false, status: 401 });
    await r.close();
    expect(lines.filter((l) => l.includes('signature mismatch'))).toHaveLength(4);
    await expect(readdir(join(dir, 'refused'))).rejects.toThrow();
  });

  it('answers 400 to bodies that are not export webhooks', async () => {
    const { receiver: r } = await receiver();
    const job = newExport('Odd');
    expect(await send(r, job, 'not json')).toMatchObject({ status: 400 });
    expect(await send(r, job, JSON.stringify({ type: 'export.completed', data: {} }))).toMatchObject({ status: 400 });
    // Signed correctly, but neither a completion nor a failure notice.
    const { gcsBlob: _drop, ...incomplete } = JSON.parse(completion(job, [{ name: 'Odd.csv.gz', bytes: Buffer.from('x'), rows: 1 }])) as Record<string, unknown>;
    expect(await send(r, job, JSON.stringify(incomplete))).toMatchObject({ status: 400 });
    await r.close();
  });
});

describe('ferry listen mistakes are one clear FerryError', () => {
  const failureOf = async (options: Partial<Parameters<typeof listen>[0]>): Promise<FerryError> => {
    const err: unknown = await listen({ port: 0, host: '127.0.0.1', apiKey: API_KEY, log: () => {}, ...options }).then(
      async (r) => {
        await r.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  };

  it('without FERRY_API_KEY', async () => {
    for (const apiKey of [undefined, '', '  ']) {
      const err = await failureOf({ apiKey });
      expect(err.code).toBe('INVALID_CONFIG');
      expect(err.message).toContain('FERRY_API_KEY');
      expect(err.message).not.toContain('\n');
    }
  });

  it.each(['abc', '-1', '70000', '12.5', '', '0x50', '9000abc'])('with a bad port %j', async (port) => {
    const err = await failureOf({ port });
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toBe(`listen: port must be a whole number from 0 to 65535, got ${JSON.stringify(port)}`);
  });

  it('on a port already in use', async () => {
    const { receiver: first } = await receiver();
    const port = new URL(first.url).port;
    try {
      const err = await failureOf({ port });
      expect(err.code).toBe('INVALID_OPTIONS');
      expect(err.message).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await first.close();
    }
  });

  it('accepts a port given as text, as the command line passes it', async () => {
    const { receiver: probe } = await receiver();
    const free = new URL(probe.url).port;
    await probe.close();
    const r = await listen({ port: free, host: '127.0.0.1', apiKey: API_KEY, log: () => {} });
    expect(r.url).toBe(`http://127.0.0.1:${free}`);
    await r.close();
  });
});
