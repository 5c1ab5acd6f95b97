import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CRC32C } from '@google-cloud/storage';
import { verifyV4 } from './v4-verify.js';

/**
 * Enough of the GCS JSON API and resumable-upload protocol for the store, on 127.0.0.1:
 * resumable sessions (POST -> Location; PUT with Content-Range, 308 until final), multipart uploads,
 * object metadata, media with Range, delete, and V4 signed GETs verified with the signer's public key.
 * Bytes go to a temp directory, never memory, so the store's streaming can be measured.
 */

interface StoredObjectRecord {
  path: string;
  size: number;
  generation: number;
  contentType: string;
  contentEncoding?: string;
  md5Hash: string;
  crc32c: string;
  updated: string;
}

interface Session {
  bucket: string;
  name: string;
  metadata: Record<string, unknown>;
  contentType: string;
  path: string;
  received: number;
  done: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** JSON metadata sent when an upload starts (resumable initiation or the multipart metadata part). */
  uploadMetadata?: Record<string, unknown>;
}

export interface FakeGcs {
  endpoint: string;
  requests: RecordedRequest[];
  /** Unfinished resumable sessions (aborted uploads stay here, invisible, as in GCS). */
  openSessions(): number;
  stop(): Promise<void>;
}

export async function startFakeGcs(opts: { bucket: string; signer: { clientEmail: string; publicKey: KeyObject } }): Promise<FakeGcs> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-fake-gcs-'));
  const objects = new Map<string, StoredObjectRecord>();
  const sessions = new Map<string, Session>();
  const requests: RecordedRequest[] = [];
  let generation = 1_000;
  let endpoint = '';

  const fail = (res: ServerResponse, code: number, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code, message, errors: [{ domain: 'global', reason: code === 404 ? 'notFound' : 'invalid', message }] } }));
  };

  const resource = (bucket: string, name: string, o: StoredObjectRecord) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${o.generation}`,
    name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    ...(o.contentEncoding ? { contentEncoding: o.contentEncoding } : {}),
    size: String(o.size),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    storageClass: 'STANDARD',
    timeCreated: o.updated,
    updated: o.updated,
  });

  async function finalize(bucket: string, name: string, tempPath: string, metadata: Record<string, unknown>, contentType: string): Promise<StoredObjectRecord> {
    const md5 = createHash('md5');
    const crc = new CRC32C();
    let size = 0;
    for await (const chunk of createReadStream(tempPath)) {
      const buf = chunk as Buffer;
      md5.update(buf);
      crc.update(buf);
      size += buf.byteLength;
    }
    const gen = ++generation;
    const path = join(dir, `object-${gen}.bin`);
    await rename(tempPath, path);
    const previous = objects.get(`${bucket}/${name}`);
    const record: StoredObjectRecord = {
      path,
      size,
      generation: gen,
      contentType,
      ...(typeof metadata.contentEncoding === 'string' ? { contentEncoding: metadata.contentEncoding } : {}),
      md5Hash: md5.digest('base64'),
      crc32c: crc.toString(),
      updated: new Date().toISOString(),
    };
    objects.set(`${bucket}/${name}`, record);
    if (previous) await rm(previous.path, { force: true });
    return record;
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  async function startResumable(req: IncomingMessage, res: ServerResponse, bucket: string, url: URL, rec: RecordedRequest) {
    const body = await readBody(req);
    const metadata = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    rec.uploadMetadata = metadata;
    const name = url.searchParams.get('name') ?? (typeof metadata.name === 'string' ? metadata.name : '');
    const id = randomBytes(12).toString('hex');
    const header = req.headers['x-upload-content-type'];
    const contentType = (typeof header === 'string' ? header : undefined) ?? (typeof metadata.contentType === 'string' ? metadata.contentType : 'application/octet-stream');
    sessions.set(id, { bucket, name, metadata, contentType, path: join(dir, `session-${id}.part`), received: 0, done: false });
    res.writeHead(200, { location: `${endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}` });
    res.end();
  }

  async function putChunk(req: IncomingMessage, res: ServerResponse, session: Session) {
    const range = req.headers['content-range'] ?? '';
    const m = /^bytes (\d+|\*)-?(\d+|\*)?\/(\d+|\*)$/.exec(range);
    if (!m) return fail(res, 400, `bad Content-Range ${range}`);
    const [, first, last, total] = m;
    if (first === '*') {
      // Status query.
      if (session.received > 0) res.setHeader('range', `bytes=0-${session.received - 1}`);
      res.writeHead(308);
      return res.end();
    }
    if (Number(first) !== session.received) return fail(res, 400, `expected offset ${session.received}, got ${first}`);
    const before = session.received;
    const sink = createWriteStream(session.path, { flags: 'a' });
    let n = 0;
    req.on('data', (chunk: Buffer) => {
      n += chunk.byteLength;
    });
    try {
      await pipeline(req, sink);
    } catch {
      // The client went away mid-chunk: keep what arrived, finalize nothing (GCS keeps the session open).
      session.received = before + n;
      return;
    }
    session.received = before + n;
    const final = (total !== '*' && session.received === Number(total)) || last === '*';
    if (!final) {
      if (session.received > 0) res.setHeader('range', `bytes=0-${session.received - 1}`);
      res.writeHead(308);
      return res.end();
    }
    session.done = true;
    const record = await finalize(session.bucket, session.name, session.path, session.metadata, session.contentType);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(resource(session.bucket, session.name, record)));
  }

  async function multipartUpload(req: IncomingMessage, res: ServerResponse, bucket: string, url: URL, rec: RecordedRequest) {
    const type = req.headers['content-type'] ?? '';
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
    if (!boundary) return fail(res, 400, 'multipart upload without boundary');
    const body = await readBody(req);
    const parts: Buffer[] = [];
    const delimiter = Buffer.from(`--${boundary}`);
    let at = body.indexOf(delimiter);
    while (at !== -1) {
      const next = body.indexOf(delimiter, at + delimiter.length);
      if (next === -1) break;
      const part = body.subarray(at + delimiter.length, next);
      const headerEnd = part.indexOf('\r\n\r\n');
      parts.push(part.subarray(headerEnd + 4, part.length - 2)); // drop the CRLF before the next delimiter
      at = next;
    }
    const [metaPart, media] = parts;
    if (!metaPart || !media) return fail(res, 400, 'multipart upload needs metadata and media');
    const metadata = JSON.parse(metaPart.toString('utf8')) as Record<string, unknown>;
    rec.uploadMetadata = metadata;
    const name = url.searchParams.get('name') ?? (typeof metadata.name === 'string' ? metadata.name : '');
    const temp = join(dir, `multipart-${randomBytes(8).toString('hex')}.part`);
    await pipeline([media], createWriteStream(temp));
    const record = await finalize(bucket, name, temp, metadata, typeof metadata.contentType === 'string' ? metadata.contentType : 'application/octet-stream');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(resource(bucket, name, record)));
  }

  async function sendMedia(req: IncomingMessage, res: ServerResponse, o: StoredObjectRecord, extra: Record<string, string> = {}) {
    const headers: Record<string, string> = {
      'content-type': o.contentType,
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
      'x-goog-generation': String(o.generation),
      'accept-ranges': 'bytes',
      ...extra,
    };
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && (m[1] || m[2])) {
      const start = m[1] ? Number(m[1]) : Math.max(0, o.size - Number(m[2]));
      let end = m[1] && m[2] ? Math.min(Number(m[2]), o.size - 1) : o.size - 1;
      if (start >= o.size) {
        res.writeHead(416, { 'content-range': `bytes */${o.size}` });
        return res.end();
      }
      end = Math.max(end, start);
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${o.size}`, 'content-length': String(end - start + 1) });
      return pipeline(createReadStream(o.path, { start, end }), res).catch(() => {});
    }
    res.writeHead(200, { ...headers, 'content-length': String(o.size) });
    if (o.size === 0) return res.end();
    return pipeline(createReadStream(o.path), res).catch(() => {});
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', endpoint);
    const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    requests.push(rec);
    const json = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    const bucketOk = (b: string | undefined) => b === opts.bucket;

    if (upload) {
      if (!bucketOk(upload[1])) return fail(res, 404, 'bucket not found');
      const bucket = upload[1] as string;
      const id = url.searchParams.get('upload_id');
      if (req.method === 'PUT' && id) {
        const session = sessions.get(id);
        if (!session || session.done) return fail(res, 404, 'no such upload session');
        return putChunk(req, res, session);
      }
      if (req.method === 'POST' && url.searchParams.get('uploadType') === 'resumable') return startResumable(req, res, bucket, url, rec);
      if (req.method === 'POST' && url.searchParams.get('uploadType') === 'multipart') return multipartUpload(req, res, bucket, url, rec);
      return fail(res, 400, 'unsupported upload request');
    }

    if (json) {
      if (!bucketOk(json[1])) return fail(res, 404, 'bucket not found');
      const name = decodeURIComponent(json[2] as string);
      const o = objects.get(`${json[1]}/${name}`);
      const wanted = url.searchParams.get('generation');
      if (!o || (wanted && Number(wanted) !== o.generation)) return fail(res, 404, `No such object: ${json[1]}/${name}`);
      if (req.method === 'DELETE') {
        objects.delete(`${json[1]}/${name}`);
        await rm(o.path, { force: true });
        res.writeHead(204);
        return res.end();
      }
      if (req.method === 'GET' && url.searchParams.get('alt') === 'media') return sendMedia(req, res, o);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(resource(json[1] as string, name, o)));
      }
      return fail(res, 405, 'method not allowed');
    }

    // A path-style V4 signed URL: /<bucket>/<object>?X-Goog-Signature=...
    const signed = /^\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (signed && req.method === 'GET' && url.searchParams.has('X-Goog-Signature')) {
      const verdict = verifyV4({ method: 'GET', url, hostHeader: req.headers.host ?? '' }, opts.signer);
      if (!verdict.ok) return fail(res, verdict.status, verdict.reason);
      const name = decodeURIComponent(signed[2] as string);
      const o = objects.get(`${signed[1]}/${name}`);
      if (!o) return fail(res, 404, 'NoSuchKey');
      const disposition = url.searchParams.get('response-content-disposition');
      return sendMedia(req, res, o, disposition ? { 'content-disposition': disposition } : {});
    }
    return fail(res, 404, `no route for ${req.method} ${url.pathname}`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) fail(res, 500, String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    openSessions: () => [...sessions.values()].filter((s) => !s.done).length,
    stop: async () => {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closing;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
