import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError, collectBytes, type Account, type ExportResult, type JobStore, type ObjectStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { LocalStore } from '@ferry/store-local';
import { sampleExport, sampleResult } from '@ferry/testing/jobs';
import { DownloadLinks, type DownloadClaim } from './download-links.js';
import { DownloadService, type DownloadRequest, type DownloadResponse } from './downloads.js';

/*
 * `/downloads/<token>` as docs/exports.md promises it: the file (or one of its parts, or the
 * manifest) with Range, ETag and If-None-Match; GONE once retention took it; and a download counted
 * only for a GET from byte 0. A real SQLite job store and a real local object store.
 */

const PART_1 = 'id,name\n1,alpha\n2,beta\n';
const PART_2 = 'id,name\n3,gamma\n';
const MANIFEST = '{"files":2}';
const DAY = 86_400_000;

let dir: string;
let jobs: JobStore;
let store: LocalStore;
let links: DownloadLinks;
let account: Account;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-downloads-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  store = new LocalStore({ root: join(dir, 'files') });
  links = new DownloadLinks(Buffer.alloc(32, 5).toString('base64url'), 'http://127.0.0.1:8080');
  account = await jobs.accounts.create({ name: 'downloads', createdAt: new Date() });
});

afterEach(async () => {
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

async function put(key: string, text: string): Promise<void> {
  await store.put(key, (async function* () {
    yield Buffer.from(text);
  })(), { contentType: 'text/csv' });
}

/** A completed split export, its two parts and manifest stored, named `name`. */
async function completed(name = 'Seattle Rental Data', firstFile = 'Seattle-Rental-Data-1.csv'): Promise<{ id: string; result: ExportResult }> {
  const job = sampleExport(account.id, { name });
  await jobs.exports.insert(job);
  const [claimed] = await jobs.exports.claim('w-downloads', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 100 });
  expect(claimed?.id).toBe(job.id);
  const base = sampleResult(new Date());
  const contents = [PART_1, PART_2];
  const result: ExportResult = {
    ...base,
    files: base.files.map((f, i) => ({ ...f, fileName: i === 0 ? firstFile : f.fileName, contentType: 'text/csv', objectKey: `exports/${job.id}/${i}`, bytes: Buffer.byteLength(contents[i]!) })),
    manifest: { ...base.manifest!, objectKey: `exports/${job.id}/manifest.json`, bytes: MANIFEST.length },
  };
  await put(result.files[0]!.objectKey, PART_1);
  await put(result.files[1]!.objectKey, PART_2);
  await put(result.manifest!.objectKey, MANIFEST);
  expect(await jobs.exports.complete(job.id, 'w-downloads', result)).toBe(true);
  return { id: job.id, result };
}

const token = (exportId: string, file?: DownloadClaim['file']) => links.token({ exportId, expiresAt: new Date(Date.now() + DAY), ...(file === undefined ? {} : { file }) });

const service = (s: ObjectStore = store) => new DownloadService({ jobs, store: s, links });

const open = (t: string, opts: Partial<DownloadRequest> = {}, s: ObjectStore = store) => service(s).open(t, { client: '127.0.0.1', ...opts });

async function text(res: DownloadResponse): Promise<string> {
  expect(res.kind).toBe('stream');
  const body = (res as Extract<DownloadResponse, { kind: 'stream' }>).body;
  expect(body).not.toBeNull();
  return Buffer.from(await collectBytes(body!)).toString('utf8');
}

async function downloads(id: string): Promise<{ count: number; events: string[] }> {
  const job = await jobs.exports.get(id);
  const events = await jobs.events.list(account.id, { type: 'export.downloaded', limit: 100 });
  return { count: job!.downloads, events: events.map((e) => e.exportId!) };
}

async function failure(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

describe('DownloadService: a file', () => {
  it('streams the whole file with its headers, and counts one download with its event', async () => {
    const { id, result } = await completed();
    const res = await open(token(id));
    expect(res).toMatchObject({ kind: 'stream', status: 200 });
    expect((res as { headers: Record<string, string> }).headers).toEqual({
      'content-type': 'text/csv',
      'content-length': String(PART_1.length),
      'content-disposition': 'attachment; filename="Seattle-Rental-Data-1.csv"',
      'accept-ranges': 'bytes',
      etag: `"${result.files[0]!.sha256}"`,
      'cache-control': 'private, no-store',
    });
    expect(await text(res)).toBe(PART_1);
    expect(await downloads(id)).toEqual({ count: 1, events: [id] });
  });

  it('serves each part and the manifest of a split export by the file its link names', async () => {
    const { id } = await completed();
    expect(await text(await open(token(id, 1)))).toBe(PART_2);
    expect(await text(await open(token(id, 'manifest')))).toBe(MANIFEST);
    expect(await text(await open(token(id, 0)))).toBe(PART_1);
    expect(await failure(open(token(id, 2)))).toMatchObject({ code: 'NOT_FOUND', message: 'this export has no such file' });
    expect((await downloads(id)).count).toBe(3);
  });

  it('names the file in UTF-8 too when it was named from an export name that is not ASCII', async () => {
    const { id } = await completed('Zürich Mieten', 'Zurich-Mieten-1.csv');
    const res = await open(token(id));
    expect((res as { headers: Record<string, string> }).headers['content-disposition']).toBe(`attachment; filename="Zurich-Mieten-1.csv"; filename*=UTF-8''Z%C3%BCrich%20Mieten-1.csv`);
    await text(res);
    // part-2 was not named from the export: there is no UTF-8 name to add.
    const other = await open(token(id, 1));
    expect((other as { headers: Record<string, string> }).headers['content-disposition']).toBe('attachment; filename="part-2.csv.gz"');
    await text(other);
  });

  it('answers a Range from byte 0 with 206 and counts it; one from further in is not a download of its own', async () => {
    const { id } = await completed();
    const head = await open(token(id), { rangeHeader: 'bytes=0-6' });
    expect(head).toMatchObject({ kind: 'stream', status: 206 });
    expect((head as { headers: Record<string, string> }).headers).toMatchObject({ 'content-range': `bytes 0-6/${PART_1.length}`, 'content-length': '7' });
    expect(await text(head)).toBe('id,name');
    expect((await downloads(id)).count).toBe(1);
    const rest = await open(token(id), { rangeHeader: 'bytes=8-' });
    expect((rest as { headers: Record<string, string> }).headers).toMatchObject({ 'content-range': `bytes 8-${PART_1.length - 1}/${PART_1.length}`, 'content-length': String(PART_1.length - 8) });
    expect(await text(rest)).toBe(PART_1.slice(8));
    expect((await downloads(id)).count).toBe(1);
  });

  it('answers a Range it cannot serve with 416 and the file’s length, counting nothing', async () => {
    const { id } = await completed();
    for (const rangeHeader of ['bytes=999-', 'pages=1-2']) {
      const res = await open(token(id), { rangeHeader });
      expect(res.kind).toBe('unsatisfiable');
      const r = res as Extract<DownloadResponse, { kind: 'unsatisfiable' }>;
      expect(r.headers).toEqual({ 'content-range': `bytes */${PART_1.length}`, 'accept-ranges': 'bytes' });
      expect(r.error.code).toBe('RANGE_NOT_SATISFIABLE');
    }
    expect(await downloads(id)).toEqual({ count: 0, events: [] });
  });

  it('answers 304 to a current If-None-Match, before looking at Range, counting nothing', async () => {
    const { id, result } = await completed();
    const etag = `"${result.files[0]!.sha256}"`;
    for (const ifNoneMatch of [etag, `W/${etag}`, '*', ` "other", ${etag} `]) {
      const res = await open(token(id), { ifNoneMatch, rangeHeader: 'bytes=999-' });
      expect(res, ifNoneMatch).toEqual({ kind: 'not-modified', headers: { etag, 'cache-control': 'private, no-store' } });
    }
    expect(await text(await open(token(id), { ifNoneMatch: '"other"' }))).toBe(PART_1);
    expect((await downloads(id)).count).toBe(1);
  });

  it('answers HEAD with the headers a GET would get and no body, counting nothing', async () => {
    const { id } = await completed();
    const res = await open(token(id), { method: 'HEAD' });
    expect(res).toMatchObject({ kind: 'stream', status: 200, body: null });
    expect((res as { headers: Record<string, string> }).headers['content-length']).toBe(String(PART_1.length));
    const ranged = await open(token(id), { method: 'HEAD', rangeHeader: 'bytes=0-1' });
    expect(ranged).toMatchObject({ kind: 'stream', status: 206, body: null });
    expect((ranged as { headers: Record<string, string> }).headers).toMatchObject({ 'content-range': `bytes 0-1/${PART_1.length}`, 'content-length': '2' });
    expect(await downloads(id)).toEqual({ count: 0, events: [] });
  });
});

describe('DownloadService: what is gone', () => {
  it('answers GONE for an export that no longer exists or has no result yet', async () => {
    expect(await failure(open(token('123e4567-e89b-12d3-a456-426614174000')))).toMatchObject({ code: 'GONE', message: 'this export is no longer available' });
    const queued = sampleExport(account.id);
    await jobs.exports.insert(queued);
    expect(await failure(open(token(queued.id)))).toMatchObject({ code: 'GONE', message: 'this export is no longer available' });
  });

  it('answers GONE with the expiry date once retention expired the export', async () => {
    const { id, result } = await completed();
    expect(await jobs.exports.markExpired(id)).toBe(true);
    expect(await failure(open(token(id)))).toMatchObject({ code: 'GONE', message: `this export expired on ${result.expiresAt.toISOString()} and its file was deleted` });
  });

  it('answers GONE for GET and HEAD when the file was deleted from the store', async () => {
    const { id, result } = await completed();
    await store.delete(result.files[0]!.objectKey);
    for (const method of ['GET', 'HEAD']) {
      expect(await failure(open(token(id), { method }))).toMatchObject({ code: 'GONE', message: 'this export file has been deleted' });
    }
    expect((await downloads(id)).count).toBe(0);
  });

  it('refuses a forged or expired link before looking anything up', async () => {
    const { id } = await completed();
    expect(await failure(open(`${token(id)}x`))).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(await failure(open(links.token({ exportId: id, expiresAt: new Date(Date.now() - 1000) })))).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('passes store failures other than a missing file through', async () => {
    const { id } = await completed();
    const broken: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      // A store outage cannot be produced with a local directory.
      get: async () => {
        throw new FerryError('TRANSIENT', 'store unreachable');
      },
    });
    for (const method of ['GET', 'HEAD']) expect(await failure(open(token(id), { method }, broken))).toMatchObject({ code: 'TRANSIENT' });
  });
});

describe('DownloadService: a store that signs URLs', () => {
  /**
   * S3 and GCS sign their own URLs; neither runs here, so a local store stands in with a signer
   * that records what it was asked for.
   */
  function signing(calls: Array<{ key: string; opts: { expiresInSec: number; downloadName?: string } }>): ObjectStore {
    return Object.assign(Object.create(store) as ObjectStore, {
      capabilities: { signedUrls: true, rangeReads: true, multipart: false },
      signUrl: async (key: string, opts: { expiresInSec: number; downloadName?: string }) => {
        calls.push({ key, opts });
        return `http://127.0.0.1:9000/signed/${key}`;
      },
    });
  }

  it('redirects to a five-minute URL signed by the store, counting a download from byte 0 only', async () => {
    const { id, result } = await completed();
    const calls: Array<{ key: string; opts: { expiresInSec: number; downloadName?: string } }> = [];
    const s = signing(calls);
    const res = await open(token(id), {}, s);
    expect(res).toEqual({ kind: 'redirect', location: `http://127.0.0.1:9000/signed/${result.files[0]!.objectKey}`, headers: { 'cache-control': 'private, no-store' } });
    expect(calls).toEqual([{ key: result.files[0]!.objectKey, opts: { expiresInSec: 300, downloadName: 'Seattle-Rental-Data-1.csv' } }]);
    expect((await downloads(id)).count).toBe(1);
    expect((await open(token(id), { rangeHeader: 'bytes=0-3' }, s)).kind).toBe('redirect');
    expect((await downloads(id)).count).toBe(2);
    expect((await open(token(id), { rangeHeader: 'bytes=3-' }, s)).kind).toBe('redirect');
    expect((await open(token(id), { method: 'HEAD' }, s)).kind).toBe('redirect');
    expect(await downloads(id)).toEqual({ count: 2, events: [id, id] });
  });

  it('asks the store to name the download with the export’s own spelling', async () => {
    const { id } = await completed('Zürich Mieten', 'Zurich-Mieten-1.csv');
    const calls: Array<{ key: string; opts: { expiresInSec: number; downloadName?: string } }> = [];
    await open(token(id), {}, signing(calls));
    expect(calls.map((c) => c.opts.downloadName)).toEqual(['Zürich Mieten-1.csv']);
  });
});
