import { createHash, randomBytes, verify, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CRC32C } from '@google-cloud/storage';
import { verifyV4 } from './v4-verify.js';

/**
 * Enough of Google Cloud Storage for the store, on 127.0.0.1, behaving as GCS does where the store
 * depends on it:
 * - OAuth: a token endpoint that checks the service account's signed JWT (RS256, issuer, audience,
 *   expiry) and mints expiring access tokens; with `requireAuth`, every JSON request and upload
 *   initiation needs one (401 without a valid token, 403 for an account denied the bucket), while the
 *   requests to a resumable session's URI need none (the URI is the credential);
 * - resumable sessions (POST -> Location; PUT with Content-Range, 308 with the persisted Range until
 *   the last byte; a status query `bytes * /*`), multipart uploads, object metadata and listing,
 *   media with Range, delete, and V4 signed GETs verified with the signer's public key;
 * - integrity: crc32c and MD5 of every object; an upload whose `X-Goog-Hash` does not match what
 *   arrived is refused (400) and stores nothing; downloads carry `x-goog-hash`.
 * Faults are armed by the test, as a flaky network or service would produce them: 503/429 answers,
 * chunks persisted only in part (a short 308), expired sessions (410), bytes corrupted in transit,
 * revoked tokens, uploads that stall. Bytes go to a temp directory, never memory.
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
  expired: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** JSON metadata sent when an upload starts (resumable initiation or the multipart metadata part). */
  uploadMetadata?: Record<string, unknown>;
}

/** What a request does, for arming faults. */
export type RequestKind = 'token' | 'start' | 'upload' | 'status' | 'multipart' | 'metadata' | 'media' | 'list' | 'delete' | 'signed';

export interface FakeGcsOptions {
  bucket: string;
  /** The service account: its V4 signed URLs are honoured, and its JWTs buy access tokens. */
  signer: { clientEmail: string; publicKey: KeyObject };
  /** Every JSON and upload request must carry a token minted by `tokenUrl` (GCS always asks; emulators often do not). */
  requireAuth?: boolean;
  /** Lifetime of minted access tokens (Google's: 3599 s). */
  tokenLifetimeSec?: number;
}

export interface FakeGcs {
  endpoint: string;
  /** The OAuth token endpoint: where `https://www.googleapis.com/oauth2/v4/token` is in production. */
  tokenUrl: string;
  /** Every request, as it arrived (method, URL, headers): what the store put on the wire. */
  requests: RecordedRequest[];
  /** Answer the next `count` requests of `kind` with `status` (503, 429, ...), storing nothing from them. */
  failNext(kind: RequestKind, count: number, status: number, headers?: Record<string, string>): void;
  /** The next `count` upload chunks that do not finish their object persist all but `dropBytes` of what they carry (a short 308). */
  persistShort(count: number, dropBytes: number): void;
  /** Every resumable session open now has expired: requests to it are answered 410 Gone. */
  expireSessions(): void;
  /** Access tokens minted so far are no longer accepted (401). */
  revokeTokens(): void;
  /** The service account loses (or regains) access to the bucket: its requests are answered 403. */
  denyAccess(denied: boolean): void;
  /** The next upload's bytes arrive with one byte flipped (corruption the transport did not catch). */
  corruptNextUpload(): void;
  /** The next media download serves one byte flipped, with the stored object's checksums. */
  corruptNextDownload(): void;
  /**
   * Stall upload bodies: chunks are not read until `release()`. `held` resolves when an upload is
   * stalled (a slow or hung store, as a worker may meet it at shutdown).
   */
  holdUploads(): { held: Promise<void>; release(): void };
  stop(): Promise<void>;
}

/** The audience the library puts in its JWT: Google's token endpoint, wherever the request is sent. */
const GOOGLE_TOKEN_AUDIENCES = new Set(['https://www.googleapis.com/oauth2/v4/token', 'https://oauth2.googleapis.com/token']);

export async function startFakeGcs(opts: FakeGcsOptions): Promise<FakeGcs> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-fake-gcs-'));
  const objects = new Map<string, StoredObjectRecord>();
  const sessions = new Map<string, Session>();
  const tokens = new Map<string, { email: string; expiresAt: number }>();
  const requests: RecordedRequest[] = [];
  const failures: Array<{ kind: RequestKind; remaining: number; status: number; headers: Record<string, string> }> = [];
  const shortPersist = { remaining: 0, dropBytes: 0 };
  const corrupt = { upload: false, download: false };
  let hold: { release: Promise<void>; onHeld: () => void; free: () => void } | null = null;
  let denied = false;
  let generation = 1_000;
  let endpoint = '';
  const lifetimeSec = opts.tokenLifetimeSec ?? 3599;

  const fail = (res: ServerResponse, code: number, message: string, reason = code === 404 ? 'notFound' : 'invalid', headers: Record<string, string> = {}) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { code, message, errors: [{ domain: 'global', reason, message }] } }));
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

  async function checksums(path: string): Promise<{ size: number; md5Hash: string; crc32c: string }> {
    const md5 = createHash('md5');
    const crc = new CRC32C();
    let size = 0;
    for await (const chunk of createReadStream(path)) {
      const buf = chunk as Buffer;
      md5.update(buf);
      crc.update(buf);
      size += buf.byteLength;
    }
    return { size, md5Hash: md5.digest('base64'), crc32c: crc.toString() };
  }

  /** `X-Goog-Hash: crc32c=...,md5=...` against what arrived; a mismatch names the first that differs. */
  function hashMismatch(header: string | string[] | undefined, sums: { md5Hash: string; crc32c: string }): string | null {
    const text = Array.isArray(header) ? header.join(',') : (header ?? '');
    for (const part of text.split(',')) {
      const [algo, ...value] = part.trim().split('=');
      const given = value.join('=');
      if (algo === 'crc32c' && given && given !== sums.crc32c) return `Provided CRC32C "${given}" doesn't match calculated CRC32C "${sums.crc32c}".`;
      if (algo === 'md5' && given && given !== sums.md5Hash) return `Provided MD5 hash "${given}" doesn't match calculated MD5 hash "${sums.md5Hash}".`;
    }
    return null;
  }

  async function finalize(bucket: string, name: string, tempPath: string, metadata: Record<string, unknown>, contentType: string): Promise<StoredObjectRecord> {
    const sums = await checksums(tempPath);
    const gen = ++generation;
    const path = join(dir, `object-${gen}.bin`);
    await rename(tempPath, path);
    const previous = objects.get(`${bucket}/${name}`);
    const record: StoredObjectRecord = {
      path,
      generation: gen,
      contentType,
      ...(typeof metadata.contentEncoding === 'string' ? { contentEncoding: metadata.contentEncoding } : {}),
      ...sums,
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

  /** Read and drop a request body, so the client sees the answer rather than a reset connection. */
  async function drain(req: IncomingMessage): Promise<void> {
    for await (const _chunk of req) void _chunk;
  }

  /** Flip one byte of what passes through, once. */
  function corruptOnce(): Transform {
    let done = false;
    return new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (!done && chunk.length > 0) {
          done = true;
          const copy = Buffer.from(chunk);
          copy[0] = copy[0]! ^ 0xff;
          return cb(null, copy);
        }
        cb(null, chunk);
      },
    });
  }

  function takeFailure(kind: RequestKind) {
    const armed = failures.find((f) => f.kind === kind && f.remaining > 0);
    if (!armed) return null;
    armed.remaining--;
    return armed;
  }

  // ------------------------------------------------------------------ OAuth

  async function mintToken(req: IncomingMessage, res: ServerResponse) {
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    const refuse = (description: string) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: description }));
    };
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('Invalid grant_type.');
    const [header, payload, signature] = (form.get('assertion') ?? '').split('.');
    if (!header || !payload || !signature) return refuse('Invalid JWT.');
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (decode(header).alg !== 'RS256') return refuse('Invalid JWT: unsupported algorithm.');
    if (!verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), opts.signer.publicKey, Buffer.from(signature, 'base64url'))) {
      return refuse('Invalid JWT Signature.');
    }
    const claims = decode(payload);
    const nowSec = Date.now() / 1000;
    if (claims.iss !== opts.signer.clientEmail) return refuse('Invalid JWT: unknown issuer.');
    if (!GOOGLE_TOKEN_AUDIENCES.has(String(claims.aud))) return refuse('Invalid JWT: audience.');
    if (typeof claims.exp !== 'number' || claims.exp < nowSec || typeof claims.iat !== 'number' || claims.iat > nowSec + 60) {
      return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    if (!String(claims.scope ?? '').split(' ').some((s) => s.startsWith('https://www.googleapis.com/auth/devstorage') || s === 'https://www.googleapis.com/auth/cloud-platform')) {
      return refuse('Invalid JWT: no storage scope.');
    }
    const token = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    tokens.set(token, { email: opts.signer.clientEmail, expiresAt: Date.now() + lifetimeSec * 1000 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: token, expires_in: lifetimeSec, token_type: 'Bearer' }));
  }

  /** GCS's answers for a request without a valid token (401) or from an account without access (403). */
  function authFailure(req: IncomingMessage): { status: number; message: string; reason: string } | null {
    if (!opts.requireAuth) return null;
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const token = m ? tokens.get(m[1]!) : undefined;
    if (!token || token.expiresAt < Date.now()) return { status: 401, message: 'Invalid Credentials', reason: 'authError' };
    if (denied) return { status: 403, message: `${token.email} does not have storage.objects access to the Google Cloud Storage bucket.`, reason: 'forbidden' };
    return null;
  }

  // ------------------------------------------------------------------ uploads

  async function startResumable(req: IncomingMessage, res: ServerResponse, bucket: string, url: URL, rec: RecordedRequest) {
    const body = await readBody(req);
    const metadata = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    rec.uploadMetadata = metadata;
    const name = url.searchParams.get('name') ?? (typeof metadata.name === 'string' ? metadata.name : '');
    const id = randomBytes(12).toString('hex');
    const header = req.headers['x-upload-content-type'];
    const contentType = (typeof header === 'string' ? header : undefined) ?? (typeof metadata.contentType === 'string' ? metadata.contentType : 'application/octet-stream');
    sessions.set(id, { bucket, name, metadata, contentType, path: join(dir, `session-${id}.part`), received: 0, done: false, expired: false });
    res.writeHead(200, { location: `${endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}` });
    res.end();
  }

  /** The 308 of an unfinished session: how much is persisted. */
  function incomplete(res: ServerResponse, session: Session) {
    if (session.received > 0) res.setHeader('range', `bytes=0-${session.received - 1}`);
    res.writeHead(308);
    res.end();
  }

  async function putChunk(req: IncomingMessage, res: ServerResponse, session: Session) {
    const range = req.headers['content-range'] ?? '';
    const m = /^bytes (\d+|\*)-?(\d+|\*)?\/(\d+|\*)$/.exec(range);
    if (!m) return fail(res, 400, `bad Content-Range ${range}`);
    const [, first, last, total] = m;
    if (first === '*') {
      // A status query: how much of the session is persisted.
      await drain(req);
      if (session.expired) return fail(res, 410, 'The upload session has expired.', 'gone');
      return incomplete(res, session);
    }
    if (session.expired) {
      await drain(req);
      return fail(res, 410, 'The upload session has expired.', 'gone');
    }
    const injected = takeFailure('upload');
    if (injected) {
      await drain(req);
      return fail(res, injected.status, `injected ${injected.status}`, 'backendError', injected.headers);
    }
    const offset = Number(first);
    if (offset > session.received) {
      await drain(req);
      return fail(res, 400, `missing bytes: the session has ${session.received}, the chunk starts at ${offset}`);
    }
    if (hold) {
      const { release, onHeld } = hold;
      req.pause();
      onHeld();
      await release;
    }
    // Bytes this chunk repeats (a resend after a short 308) are already persisted: skip them.
    let skip = session.received - offset;
    const chunkParts: Buffer[] = [];
    for await (const chunk of req) {
      let buf = chunk as Buffer;
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        buf = buf.subarray(n);
        skip -= n;
      }
      if (buf.length) chunkParts.push(buf);
      if (chunkParts.length > 64) chunkParts.splice(0, chunkParts.length, Buffer.concat(chunkParts));
    }
    let data = Buffer.concat(chunkParts);
    if (corrupt.upload && data.length > 0) {
      corrupt.upload = false;
      data = Buffer.from(data);
      data[0] = data[0]! ^ 0xff;
    }
    // The last chunk names the total; a body streamed in one request (`bytes 0-*/*`) ends the object with the request.
    const completes = (total !== '*' && session.received + data.length === Number(total)) || last === '*';
    if (!completes && shortPersist.remaining > 0 && data.length > shortPersist.dropBytes) {
      shortPersist.remaining--;
      data = data.subarray(0, data.length - shortPersist.dropBytes);
    }
    await pipeline([data], createWriteStream(session.path, { flags: 'a' }));
    session.received += data.length;
    if (!completes) return incomplete(res, session);
    const sums = await checksums(session.path);
    const mismatch = hashMismatch(req.headers['x-goog-hash'], sums);
    if (mismatch) {
      // GCS refuses the object; the session cannot be completed any more.
      session.done = true;
      await rm(session.path, { force: true });
      return fail(res, 400, mismatch);
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
    let stored = media;
    if (corrupt.upload && stored.length > 0) {
      corrupt.upload = false;
      stored = Buffer.from(stored);
      stored[0] = stored[0]! ^ 0xff;
    }
    const temp = join(dir, `multipart-${randomBytes(8).toString('hex')}.part`);
    await pipeline([stored], createWriteStream(temp));
    // The JSON API takes the client's checksums in the metadata part.
    const given = [typeof metadata.crc32c === 'string' ? `crc32c=${metadata.crc32c}` : '', typeof metadata.md5Hash === 'string' ? `md5=${metadata.md5Hash}` : '']
      .filter(Boolean)
      .join(',');
    const mismatch = hashMismatch(given, await checksums(temp));
    if (mismatch) {
      await rm(temp, { force: true });
      return fail(res, 400, mismatch);
    }
    const record = await finalize(bucket, name, temp, metadata, typeof metadata.contentType === 'string' ? metadata.contentType : 'application/octet-stream');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(resource(bucket, name, record)));
  }

  // ------------------------------------------------------------------ reads

  async function sendMedia(req: IncomingMessage, res: ServerResponse, o: StoredObjectRecord, extra: Record<string, string> = {}) {
    const headers: Record<string, string> = {
      'content-type': o.contentType,
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
      'x-goog-generation': String(o.generation),
      'accept-ranges': 'bytes',
      ...extra,
    };
    // What leaves the server: the stored bytes, or once armed, bytes corrupted on the way.
    const send = (source: NodeJS.ReadableStream) => {
      if (!corrupt.download) return pipeline(source, res).catch(() => {});
      corrupt.download = false;
      return pipeline(source, corruptOnce(), res).catch(() => {});
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
      return send(createReadStream(o.path, { start, end }));
    }
    res.writeHead(200, { ...headers, 'content-length': String(o.size) });
    if (o.size === 0) return res.end();
    return send(createReadStream(o.path));
  }

  function list(res: ServerResponse, bucket: string, url: URL) {
    const prefix = url.searchParams.get('prefix') ?? '';
    const items = [...objects]
      .filter(([key]) => key.startsWith(`${bucket}/${prefix}`))
      .map(([key, o]) => resource(bucket, key.slice(bucket.length + 1), o))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'storage#objects', items }));
  }

  // ------------------------------------------------------------------ routing

  function kindOf(req: IncomingMessage, url: URL): RequestKind | null {
    if (url.pathname === '/token') return 'token';
    if (/^\/upload\/storage\/v1\/b\/[^/]+\/o$/.test(url.pathname)) {
      if (req.method === 'PUT') return /^bytes \*\//.test(req.headers['content-range'] ?? '') ? 'status' : 'upload';
      return url.searchParams.get('uploadType') === 'multipart' ? 'multipart' : 'start';
    }
    if (/^\/storage\/v1\/b\/[^/]+\/o$/.test(url.pathname)) return 'list';
    if (/^\/(?:download\/)?storage\/v1\/b\/[^/]+\/o\/.+$/.test(url.pathname)) {
      if (req.method === 'DELETE') return 'delete';
      return url.searchParams.get('alt') === 'media' ? 'media' : 'metadata';
    }
    return url.searchParams.has('X-Goog-Signature') ? 'signed' : null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', endpoint);
    const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    requests.push(rec);
    const kind = kindOf(req, url);
    if (kind === 'token') return req.method === 'POST' ? mintToken(req, res) : fail(res, 405, 'method not allowed');
    // A session URI is itself the credential for its chunks and status queries (as in GCS); a
    // signed URL carries its own signature.
    if (kind !== 'signed' && kind !== 'upload' && kind !== 'status' && kind !== null) {
      const refused = authFailure(req);
      if (refused) {
        await drain(req);
        return fail(res, refused.status, refused.message, refused.reason, refused.status === 401 ? { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' } : {});
      }
    }
    // Upload chunks take their armed faults in order with the other chunk faults, in putChunk.
    const injected = kind && kind !== 'upload' ? takeFailure(kind) : null;
    if (injected) {
      await drain(req);
      return fail(res, injected.status, `injected ${injected.status}`, injected.status === 429 ? 'rateLimitExceeded' : 'backendError', injected.headers);
    }

    const json = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    const listing = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    const bucketOk = (b: string | undefined) => b === opts.bucket;

    if (upload) {
      if (!bucketOk(upload[1])) return fail(res, 404, 'bucket not found');
      const bucket = upload[1] as string;
      const id = url.searchParams.get('upload_id');
      if (req.method === 'PUT' && id) {
        const session = sessions.get(id);
        if (!session || (session.done && !session.expired)) return fail(res, 404, 'no such upload session');
        return putChunk(req, res, session);
      }
      if (req.method === 'POST' && url.searchParams.get('uploadType') === 'resumable') return startResumable(req, res, bucket, url, rec);
      if (req.method === 'POST' && url.searchParams.get('uploadType') === 'multipart') return multipartUpload(req, res, bucket, url, rec);
      return fail(res, 400, 'unsupported upload request');
    }

    if (listing) {
      if (!bucketOk(listing[1])) return fail(res, 404, 'bucket not found');
      if (req.method === 'GET') return list(res, listing[1] as string, url);
      return fail(res, 405, 'method not allowed');
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
    if (signed && req.method === 'GET' && kind === 'signed') {
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
    tokenUrl: `${endpoint}/token`,
    requests,
    failNext(kind, count, status, headers = {}) {
      failures.push({ kind, remaining: count, status, headers });
    },
    persistShort(count, dropBytes) {
      shortPersist.remaining = count;
      shortPersist.dropBytes = dropBytes;
    },
    expireSessions() {
      for (const s of sessions.values()) if (!s.done) s.expired = true;
    },
    revokeTokens() {
      tokens.clear();
    },
    denyAccess(value) {
      denied = value;
    },
    corruptNextUpload() {
      corrupt.upload = true;
    },
    corruptNextDownload() {
      corrupt.download = true;
    },
    holdUploads() {
      let release!: () => void;
      let onHeld!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const held = new Promise<void>((r) => (onHeld = r));
      hold = { release: released, onHeld, free: release };
      return {
        held,
        release: () => {
          hold = null;
          release();
        },
      };
    },
    stop: async () => {
      hold?.free();
      hold = null;
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closing;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
