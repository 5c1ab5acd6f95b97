import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { FerryError, TOKENS, type ExportsPart, type JobStore } from '@ferry/core';
import { duckdbRows, waitFor } from '@ferry/testing';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHarness } from '@ferry/store-s3/testing';
import { rentalsPath } from '@ferry/sample-rentals';
import { startFerry, type FerryRuntime, type RuntimeOverrides } from './runtime.js';
import { defineConfig, type FerryConfig } from './config.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';
import { listeningUrl, spawnFerry, type FerryProcess } from './test-support/processes.js';

const KEY = 'hardening-test-key-123';
const ADMIN = 'hardening-admin-token-0123456789';
const BUCKET = 'ferry-hardening';
/** Every column of the sample dataset, every row: an export that takes a few seconds to write. */
const FULL_WIDTH = {
  scopes: [
    'property_id', 'street_address', 'city', 'state', 'msa', 'zip_code', 'lat', 'lon', 'building_type', 'year_built', 'number_units',
    'bed', 'bath', 'sqft', 'asking_rent', 'effective_rent', 'concession', 'occupancy', 'as_of_week',
  ].map((column) => ({ column })),
  orderBy: null,
};

let rx: ScriptedReceiver;
const dirs: string[] = [];
const running: FerryRuntime[] = [];
const children: FerryProcess[] = [];

beforeAll(async () => {
  rx = await startScriptedReceiver();
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await rx.close();
  for (const ferry of running.reverse()) await ferry.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function freshDir(prefix: string): Promise<string> {
  const dir = await seededDataDir(prefix);
  dirs.push(dir);
  return dir;
}

function config(dataDir: string, extra: Partial<Parameters<typeof defineConfig>[0]> = {}): FerryConfig {
  return defineConfig({
    dataDir,
    server: { port: 0 },
    logLevel: 'silent',
    notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
    ...extra,
  });
}

async function start(cfg: FerryConfig, overrides: RuntimeOverrides = {}): Promise<FerryRuntime> {
  const ferry = await startFerry(cfg, KEY, { adminToken: ADMIN, ...overrides });
  running.push(ferry);
  return ferry;
}

async function api(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      'x-api-key': KEY,
      ...(method === 'POST' && path.endsWith('/versions') ? { authorization: `Bearer ${ADMIN}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

type FileStatus = { url: string; fileName: string; rows: number; bytes: number; sha256: string };
type Status = {
  state: string;
  attempts: number;
  error: string | null;
  numberRows: number | null;
  download: { url: string; fileName: string; bytes: number; sha256: string; downloads: number } | null;
  files: FileStatus[];
};

async function submit(base: string, request: Record<string, unknown>): Promise<string> {
  const res = await api(base, 'POST', '/dataset/export', { webhookURL: `${rx.url}/hook`, name: 'hardening', format: 'csv', dataset: { scopes: [{ column: 'msa' }], limit: 10 }, ...request });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.queryUUID as string;
}

const status = async (base: string, id: string): Promise<Status> => (await api(base, 'GET', `/dataset/export/${id}`)).json as unknown as Status;

async function ended(base: string, id: string, timeoutMs = 60_000): Promise<Status> {
  return waitFor('the export to end', async () => {
    const s = await status(base, id);
    return s.state === 'completed' || s.state === 'failed' ? s : undefined;
  }, timeoutMs);
}

/** Files under `dir`, relative, recursively ([] when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

/** A tmpfs of `sizeMb` at a fresh directory; null (and the reason printed) where mounting is not allowed. */
async function tmpfs(sizeMb: number): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    console.warn(`skipping a full-disk test: cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`);
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  return dir;
}

/**
 * The real job store, except that the disk is full at the first moment an export attempt records
 * its outcome: its completion and then its retry both fail with STORAGE_FULL, once each.
 */
function fullOnce(real: JobStore): JobStore {
  const faults = { complete: 1, retryLater: 1 };
  const full = () => new FerryError('STORAGE_FULL', 'The SQLite job store is full (disk full): try again later', { retryable: true });
  const exports = (part: ExportsPart): ExportsPart => ({
    ...part,
    complete: async (...args) => {
      if (faults.complete-- > 0) throw full();
      return part.complete(...args);
    },
    retryLater: async (...args) => {
      if (faults.retryLater-- > 0) throw full();
      return part.retryLater(...args);
    },
  });
  return {
    name: real.name,
    accounts: real.accounts,
    settings: real.settings,
    exports: exports(real.exports),
    endpoints: real.endpoints,
    events: real.events,
    deliveries: real.deliveries,
    versions: real.versions,
    schedules: real.schedules,
    transaction: (fn) => real.transaction((tx) => fn({ ...tx, exports: exports(tx.exports) })),
    ...(real.onWork ? { onWork: real.onWork.bind(real) } : {}),
    ping: () => real.ping(),
    close: () => real.close(),
  };
}

/** Write `path` until the disk is full to the last block. */
async function fillDisk(path: string): Promise<void> {
  const filler = await open(path, 'w');
  for (const chunk of [1024 * 1024, 64 * 1024, 4096, 512]) {
    try {
      for (;;) await filler.write(Buffer.alloc(chunk));
    } catch {
      // full at this chunk size; go on with a smaller one
    }
  }
  await filler.close();
}

async function unmount(dir: string): Promise<void> {
  execFileSync('umount', ['-l', dir]);
  await rm(dir, { recursive: true, force: true });
}

describe('crashes leave nothing behind (issue 15 #1)', () => {
  /** `ferry serve` as a real process; resolves with its URL. */
  async function serve(configFile: string): Promise<FerryProcess & { url: string }> {
    const child = spawnFerry(['serve', '--config', configFile], { FERRY_API_KEY: KEY, FERRY_ADMIN_TOKEN: ADMIN });
    children.push(child);
    return { ...child, url: await listeningUrl(child) };
  }

  async function configFile(dataDir: string): Promise<string> {
    const file = join(dataDir, 'ferry.config.json');
    await writeFile(file, JSON.stringify({ dataDir, server: { port: 0 }, notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } } }));
    return file;
  }

  it('kill -9 mid-export: after a restart the export completes and no temp file is left in the store or scratch', async () => {
    const dataDir = await freshDir('ferry-kill-export-');
    const file = await configFile(dataDir);
    const first = await serve(file);
    // Split by size: the rows of the part being written also wait in a spool file.
    const id = await submit(first.url, { name: 'everything', dataset: FULL_WIDTH, maxFileBytes: 8 * 1024 * 1024 });
    const exportDir = join(dataDir, 'exports', id);
    // Split exports spool under the data dir's scratch space (exports.scratchDir = <dataDir>/tmp).
    const spools = async (): Promise<string[]> => (await readdir(join(dataDir, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith(`ferry-split-${id}-`));
    await waitFor('the export to be writing', async () => ((await filesUnder(exportDir)).some((f) => f.endsWith('.partial')) ? true : undefined), 60_000);
    await first.kill('SIGKILL');
    // As a crash leaves them: the half-written part, the spool.
    expect((await filesUnder(exportDir)).filter((f) => f.endsWith('.partial'))).toEqual([expect.stringMatching(/^everything\.part-\d{5}\.csv\.gz\.partial$/)]);
    expect((await spools()).sort()).toEqual([`ferry-split-${id}-1.a.spool`, `ferry-split-${id}-1.b.spool`]);

    const second = await serve(file);
    const done = await ended(second.url, id, 90_000);
    expect(done).toMatchObject({ state: 'completed', attempts: 2, numberRows: 998_400 });
    const stored = await filesUnder(join(dataDir, 'exports'));
    expect(stored.filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(stored).toEqual(
      [...done.files.flatMap((f) => [`${id}/${f.fileName}`, `${id}/${f.fileName}.ferry-meta.json`]), `${id}/everything.manifest.json`, `${id}/everything.manifest.json.ferry-meta.json`].sort(),
    );
    for (const part of done.files) expect((await stat(join(exportDir, part.fileName))).size).toBe(part.bytes);
    expect(await spools()).toEqual([]);
    expect(await second.kill('SIGTERM')).toBe(0);
  }, 180_000);

  it('kill -9 mid-publish: the restart removes the scratch directory the publish left', async () => {
    const dataDir = await freshDir('ferry-kill-publish-');
    const file = await configFile(dataDir);
    const first = await serve(file);
    const scratch = join(dataDir, 'tmp');
    const publishing = api(first.url, 'POST', '/datasets/rentals/versions').catch(() => null);
    const dead = await waitFor('the publish to write its snapshot', async () => {
      const files = await filesUnder(scratch);
      return files.find((f) => /^ferry-versions\.\d+-[0-9a-f]+\/op-[^/]+\/snapshot\.parquet$/.test(f))?.split('/')[0];
    }, 60_000);
    await first.kill('SIGKILL');
    await publishing;
    expect((await readdir(scratch)).filter((n) => n.startsWith('ferry-versions'))).toEqual([dead]);

    const second = await serve(file);
    const left = await waitFor('the dead publish\'s scratch to be swept', async () => {
      const names = (await readdir(scratch)).filter((n) => n.startsWith('ferry-versions'));
      return names.includes(dead) ? undefined : names;
    });
    // Only the new process's own (empty) directory.
    expect(left).toHaveLength(1);
    expect(await filesUnder(join(scratch, left[0]!))).toEqual([`.owner`]);
    const published = await api(second.url, 'POST', '/datasets/rentals/versions');
    expect(published.status, JSON.stringify(published.json)).toBe(201);
    expect(await second.kill('SIGTERM')).toBe(0);
  }, 180_000);
});

describe('permanent failures are not retried (issue 15 #3)', () => {
  it('an export of a dataset whose table lacks a declared column fails after one attempt with the database reason', async () => {
    const dataDir = await freshDir('ferry-bad-column-');
    const table = join(dataDir, 'orders.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    await c.run(`COPY (SELECT range AS id, range * 1.5 AS amount FROM range(10)) TO '${table}' (FORMAT parquet)`);
    const ferry = await start(
      config(dataDir, {
        datasets: [
          {
            key: 'orders',
            source: 'default',
            relation: { file: table },
            columns: [
              { name: 'id', type: 'bigint', role: 'dimension' },
              { name: 'amount', type: 'double', role: 'measure' },
            ],
          },
        ],
      }),
      { exportWorker: { pollMs: 50 } },
    );
    // The table changes under Ferry: an upstream job rewrites it without the column.
    await c.run(`COPY (SELECT range AS id FROM range(10)) TO '${table}' (FORMAT parquet)`);
    c.closeSync();
    db.closeSync();

    const id = await submit(ferry.url!, { dataset: { from: 'orders', scopes: [{ column: 'id' }, { column: 'amount' }] }, notifyOnFailure: true });
    const done = await ended(ferry.url!, id);
    expect(done).toMatchObject({ state: 'failed', attempts: 1 });
    expect(done.error).toMatch(/^DuckDB query failed: Binder Error: .*"amount"/);
    const notice = await waitFor('the failure notice', () => rx.to('/hook').map((h) => JSON.parse(h.body) as Record<string, unknown>).find((b) => b.queryUUID === id));
    expect(JSON.stringify(notice)).toContain('Binder Error');
  });
});

describe('a cancelled export (issue 15 #4)', () => {
  it('leaves no folder in the local store', async () => {
    const dataDir = await freshDir('ferry-cancel-');
    const ferry = await start(config(dataDir), { exportWorker: { pollMs: 50, heartbeatMs: 100 } });
    const id = await submit(ferry.url!, { name: 'to cancel', dataset: FULL_WIDTH });
    const exportDir = join(dataDir, 'exports', id);
    await waitFor('the export to be writing', async () => ((await filesUnder(exportDir)).length > 0 ? true : undefined), 60_000);
    const cancelled = await api(ferry.url!, 'POST', `/dataset/export/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    await waitFor('the worker to stop', () => (ferry.workers!.exports.running === 0 ? true : undefined));
    expect(await status(ferry.url!, id)).toMatchObject({ state: 'failed', error: 'cancelled by request' });
    await expect(stat(exportDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(dataDir, 'exports'))).toEqual([]);
  });
});

describe('maxFileBytes is a hard limit (issue 15 #6)', () => {
  let ferry: FerryRuntime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await freshDir('ferry-split-bytes-');
    ferry = await start(config(dataDir), { exportWorker: { pollMs: 50, scratchDir: join(dataDir, 'tmp') } });
  });

  const MAX = 1_048_576;
  for (const [format, compression, reader] of [
    ['csv', 'gzip', (f: string) => `read_csv('${f}', header = true, all_varchar = true)`],
    ['jsonl', 'none', (f: string) => `read_json('${f}', format = 'newline_delimited', records = true, columns = {property_id: 'VARCHAR', bed: 'VARCHAR', as_of_week: 'VARCHAR', asking_rent: 'VARCHAR', street_address: 'VARCHAR'})`],
    ['parquet', 'none', (f: string) => `SELECT CAST(property_id AS VARCHAR), CAST(bed AS VARCHAR), CAST(as_of_week AS VARCHAR), CAST(asking_rent AS VARCHAR), street_address FROM read_parquet('${f}')`],
  ] as const) {
    it(`${format} (${compression}): every part is at most maxFileBytes, and DuckDB reads all of them back to the query's rows`, async () => {
      const scopes = ['property_id', 'bed', 'as_of_week', 'asking_rent', 'street_address'].map((column) => ({ column }));
      const limit = { csv: 250_000, jsonl: 40_000, parquet: 650_000 }[format];
      const id = await submit(ferry.url!, { name: `parts ${format}`, format, compression, maxFileBytes: MAX, dataset: { scopes, limit, orderBy: [{ column: 'property_id' }, { column: 'bed' }, { column: 'as_of_week' }] } });
      const done = await ended(ferry.url!, id, 120_000);
      expect(done.state, done.error ?? '').toBe('completed');
      expect(done.files.length).toBeGreaterThan(1);
      const all = createHash('sha256');
      let count = 0;
      for (const part of done.files) {
        expect(part.bytes).toBeLessThanOrEqual(MAX);
        const bytes = Buffer.from(await (await fetch(part.url)).arrayBuffer());
        expect(bytes.length).toBe(part.bytes);
        const local = join(dataDir, part.fileName);
        await writeFile(local, bytes);
        const rows = await duckdbRows(format === 'parquet' ? reader(local) : `SELECT property_id, bed, as_of_week, asking_rent, street_address FROM ${reader(local)}`);
        expect(rows).toHaveLength(part.rows);
        for (const row of rows) all.update(`${JSON.stringify(row)}\n`);
        count += rows.length;
      }
      // The parts are filled, not cut short: all but the last are more than half full.
      for (const part of done.files.slice(0, -1)) expect(part.bytes).toBeGreaterThan(MAX / 2);
      expect(count).toBe(limit);
      const direct = createHash('sha256');
      const expected = await duckdbRows(
        `SELECT CAST(property_id AS VARCHAR), CAST(bed AS VARCHAR), CAST(as_of_week AS VARCHAR), CAST(asking_rent AS VARCHAR), street_address
         FROM read_parquet('${rentalsPath(dataDir)}') ORDER BY property_id, bed, as_of_week, asking_rent, street_address LIMIT ${limit}`,
      );
      for (const row of expected) direct.update(`${JSON.stringify(row)}\n`);
      // The parts, in order, hold exactly the query's rows in the query's order.
      expect(all.digest('hex')).toBe(direct.digest('hex'));
      // The rows waiting for their part were kept on disk only while the export ran.
      expect((await readdir(join(dataDir, 'tmp'))).filter((n) => n.startsWith('ferry-split-'))).toEqual([]);
    });
  }
});

describe('downloads and their HTTP details (issue 15 #7, #13)', () => {
  let s3: S3rverHarness;
  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  async function events(base: string, id: string): Promise<number> {
    const res = await api(base, 'GET', '/events?type=export.downloaded&limit=100');
    return (res.json.data as Array<{ data: { object: { uuid: string } } }>).filter((e) => e.data.object.uuid === id).length;
  }

  it('local store: a download is a GET from byte 0; HEAD, later ranges, 304 and 416 do not count', async () => {
    const dataDir = await freshDir('ferry-downloads-');
    const ferry = await start(config(dataDir));
    const id = await submit(ferry.url!, { name: 'Données été 2024', format: 'csv' });
    const done = await ended(ferry.url!, id);
    const url = done.download!.url;
    const size = done.download!.bytes;
    const etag = `"${done.download!.sha256}"`;

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    expect(head.headers.get('etag')).toBe(etag);
    const resumed = await fetch(url, { headers: { range: 'bytes=5-' } });
    expect(resumed.status).toBe(206);
    expect(resumed.headers.get('content-range')).toBe(`bytes 5-${size - 1}/${size}`);
    await resumed.arrayBuffer();
    const current = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(current.status).toBe(304);
    expect(current.headers.get('etag')).toBe(etag);
    const weak = await fetch(url, { headers: { 'if-none-match': `"other", W/${etag}` } });
    expect(weak.status).toBe(304);
    const past = await fetch(url, { headers: { range: `bytes=${size}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`);
    expect(((await past.json()) as { error: { code: string } }).error.code).toBe('RANGE_NOT_SATISFIABLE');
    expect((await status(ferry.url!, id)).download!.downloads).toBe(0);
    expect(await events(ferry.url!, id)).toBe(0);

    const full = await fetch(url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-disposition')).toBe(`attachment; filename="Donnees-ete-2024.csv.gz"; filename*=UTF-8''Donn%C3%A9es%20%C3%A9t%C3%A9%202024.csv.gz`);
    expect(Buffer.from(await full.arrayBuffer()).length).toBe(size);
    // A client that reads the first bytes (to sniff the type) and then the rest: one download.
    const sniff = await fetch(url, { headers: { range: 'bytes=0-0' } });
    expect(sniff.status).toBe(206);
    await sniff.arrayBuffer();
    const rest = await fetch(url, { headers: { range: 'bytes=1-' } });
    await rest.arrayBuffer();
    // A stale copy does not match: a real download.
    const stale = await fetch(url, { headers: { 'if-none-match': '"0000"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    expect((await status(ferry.url!, id)).download!.downloads).toBe(3);
    expect(await events(ferry.url!, id)).toBe(3);
  });

  it('S3: the redirect counts once per GET from byte 0, a HEAD never; the signed URL keeps the UTF-8 name', async () => {
    const dataDir = await freshDir('ferry-downloads-s3-');
    const ferry = await start(
      config(dataDir, { store: { use: 's3', options: { bucket: BUCKET, endpoint: s3.endpoint, forcePathStyle: true, ...S3RVER_CREDENTIALS } } }),
    );
    const id = await submit(ferry.url!, { name: 'Москва отчёт', format: 'csv' });
    const done = await ended(ferry.url!, id);
    const url = done.download!.url;

    const head = await fetch(url, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(302);
    const resumed = await fetch(url, { redirect: 'manual', headers: { range: 'bytes=10-' } });
    expect(resumed.status).toBe(302);
    expect((await status(ferry.url!, id)).download!.downloads).toBe(0);

    const first = await fetch(url, { redirect: 'manual' });
    expect(first.status).toBe(302);
    const signed = new URL(first.headers.get('location')!);
    expect(signed.searchParams.get('response-content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('Москва отчёт.csv.gz')}`);
    // Following the redirect fetches from the store; Ferry counts the GET it answered, once.
    const followed = await fetch(url);
    expect(followed.status).toBe(200);
    expect(Buffer.from(await followed.arrayBuffer()).length).toBe(done.download!.bytes);
    expect((await status(ferry.url!, id)).download!.downloads).toBe(2);
    expect(await events(ferry.url!, id)).toBe(2);
  });
});

describe('dataset versions with retainVersions: 1 (issue 15 #10)', () => {
  it("a new version's own pull_deltas_url answers with its changes", async () => {
    const dataDir = await freshDir('ferry-retain-one-');
    const table = join(dataDir, 'fees.parquet');
    const write = async (rows: string): Promise<void> => {
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      await c.run(`COPY (SELECT * FROM (VALUES ${rows}) t(id, amount)) TO '${table}' (FORMAT parquet)`);
      c.closeSync();
      db.closeSync();
    };
    await write(`(1, 10.0), (2, 20.0), (3, 30.0)`);
    const ferry = await start(
      config(dataDir, {
        sampleDataset: false,
        datasets: [
          {
            key: 'fees',
            source: 'default',
            relation: { file: table },
            columns: [
              { name: 'id', type: 'integer', role: 'dimension' },
              { name: 'amount', type: 'double', role: 'measure' },
            ],
            primaryKey: ['id'],
            versioning: { retainVersions: 1 },
          },
        ],
      }),
    );
    const v1 = await api(ferry.url!, 'POST', '/datasets/fees/versions');
    expect(v1.status, JSON.stringify(v1.json)).toBe(201);
    await write(`(1, 10.0), (2, 25.0), (4, 40.0)`);
    const v2 = await api(ferry.url!, 'POST', '/datasets/fees/versions');
    expect(v2.status, JSON.stringify(v2.json)).toBe(201);
    // Version 1 is past retention now: its own files are gone.
    const versions = await api(ferry.url!, 'GET', '/datasets/fees/versions');
    expect((versions.json.data as Array<{ version_number: number; pruned_at: string | null }>).map((v) => [v.version_number, v.pruned_at !== null])).toEqual([
      [2, false],
      [1, true],
    ]);

    const deltas = await fetch(v2.json.pull_deltas_url as string, { headers: { 'x-api-key': KEY } });
    expect(deltas.status, await deltas.clone().text()).toBe(200);
    const changes = (await deltas.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; id: number; amount: number | null });
    expect(changes).toEqual([
      { op: 'update', id: 2, amount: 25 },
      { op: 'delete', id: 3, amount: null },
      { op: 'insert', id: 4, amount: 40 },
    ]);
    // From the pruned cursor alone, up to the latest: the same changes.
    const since = await fetch(`${ferry.url}/sync/fees/deltas?since=${encodeURIComponent(v1.json.cursor as string)}`, { headers: { 'x-api-key': KEY } });
    expect(since.status).toBe(200);
    // The snapshot of a pruned version is gone for good.
    const snapshot = await fetch(`${ferry.url}/sync/fees/snapshot?cursor=${encodeURIComponent(v1.json.cursor as string)}`, { headers: { 'x-api-key': KEY } });
    expect(snapshot.status).toBe(410);
  });
});

describe('a full disk (issue 15 #2)', () => {
  it('POST /dataset/export answers 503 STORAGE_FULL with Retry-After while the job store cannot write', async (ctx) => {
    const disk = await tmpfs(24);
    if (!disk) return ctx.skip();
    try {
      const dataDir = join(disk, 'data');
      await mkdir(join(dataDir, 'datasets'), { recursive: true });
      await copyFile(rentalsPath(await freshDir('ferry-full-source-')), rentalsPath(dataDir));
      const ferry = await start(config(dataDir));
      await submit(ferry.url!, {});
      // Something else fills the disk to the last block.
      await fillDisk(join(disk, 'filler'));
      let res: Awaited<ReturnType<typeof api>> | undefined;
      for (let i = 0; i < 200 && res?.status !== 503; i++) {
        res = await api(ferry.url!, 'POST', '/dataset/export', { webhookURL: `${rx.url}/hook`, name: `x${i}`.repeat(100), format: 'csv', dataset: { scopes: [{ column: 'msa' }], limit: 10 } });
        expect([201, 503]).toContain(res.status);
      }
      expect(res!.status).toBe(503);
      expect(res!.json).toMatchObject({ error: { code: 'STORAGE_FULL', message: expect.stringContaining('disk full') } });
      expect(res!.headers.get('retry-after')).toBe('30');

      await rm(join(disk, 'filler'));
      expect((await api(ferry.url!, 'POST', '/dataset/export', { webhookURL: `${rx.url}/hook`, name: 'after', format: 'csv', dataset: { scopes: [{ column: 'msa' }], limit: 10 } })).status).toBe(201);
      await ferry.stop();
    } finally {
      await unmount(disk);
    }
  });

  it('a job store that cannot record an attempt\'s outcome (disk full) does not bring the worker down; the export is claimed again', async () => {
    const dataDir = await freshDir('ferry-store-full-');
    const ferry = await start(config(dataDir), {
      exportWorker: { pollMs: 50, leaseMs: 1_000, heartbeatMs: 200 },
      register: (di) => di.registerInstance(TOKENS.Jobs, fullOnce(di.resolve(TOKENS.Jobs) as JobStore)),
    });
    const id = await submit(ferry.url!, {});
    const done = await ended(ferry.url!, id);
    expect(done).toMatchObject({ state: 'completed', attempts: 2 });
  });

  it('a disk that fills up under a running export does not bring Ferry down; the export completes once space is freed', async (ctx) => {
    const disk = await tmpfs(96);
    if (!disk) return ctx.skip();
    try {
      const dataDir = join(disk, 'data');
      await mkdir(join(dataDir, 'datasets'), { recursive: true });
      await copyFile(rentalsPath(await freshDir('ferry-fills-source-')), rentalsPath(dataDir));
      const ferry = await start(config(dataDir), { exportWorker: { pollMs: 50, leaseMs: 2_000, heartbeatMs: 500 } });
      // Neither the file nor the job store can write once the disk is full: the attempt fails and
      // cannot even record that. On a quiet machine an export can finish its file between "writing"
      // and the fill; then the precondition did not happen, and the test tries again with a new export.
      let id = '';
      for (let tries = 0; tries < 3 && !id; tries++) {
        const candidate = await submit(ferry.url!, { name: 'everything', dataset: FULL_WIDTH });
        await waitFor('the export to be writing', async () => ((await filesUnder(join(dataDir, 'exports', candidate))).length > 0 ? true : undefined), 60_000);
        await fillDisk(join(disk, 'filler'));
        // Still writing its file (the .partial is there), not only committing a finished one.
        const writing = (await filesUnder(join(dataDir, 'exports', candidate))).some((f) => f.endsWith('.partial'));
        if (writing && ferry.workers!.exports.running > 0) id = candidate;
        else await rm(join(disk, 'filler'));
      }
      expect(id, 'an export still running when the disk filled').not.toBe('');
      // Space the export frees while it runs (DuckDB's spill files, the store's WAL) is taken again at
      // once, so the disk stays full until the attempt has ended.
      let refills = 0;
      let attemptEnded = false;
      const keepFull = (async () => {
        while (!attemptEnded) {
          await fillDisk(join(disk, `filler-${++refills}`));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await waitFor('the attempt to end', () => (ferry.workers!.exports.running === 0 ? true : undefined), 60_000);
      attemptEnded = true;
      await keepFull;
      for (const name of await readdir(disk)) if (name.startsWith('filler')) await rm(join(disk, name));
      const done = await ended(ferry.url!, id, 90_000);
      expect(done).toMatchObject({ state: 'completed', numberRows: 998_400 });
      expect(done.attempts).toBeGreaterThan(1);
      expect((await filesUnder(join(dataDir, 'exports'))).filter((f) => f.endsWith('.partial'))).toEqual([]);
      await ferry.stop();
    } finally {
      await unmount(disk);
    }
  });

  it('an export whose sort runs out of spill space fails with "disk full", and the spill files are gone', async (ctx) => {
    // The sort spills about 60 MB past a 100 MB memory limit; the disk has 32 MB.
    const disk = await tmpfs(32);
    if (!disk) return ctx.skip();
    try {
      const dataDir = join(disk, 'data');
      await mkdir(join(dataDir, 'datasets'), { recursive: true });
      await copyFile(rentalsPath(await freshDir('ferry-spill-source-')), rentalsPath(dataDir));
      const ferry = await start(config(dataDir, { sources: { default: { use: 'duckdb', options: { memoryLimit: '100MB', threads: 2 } } } }), {
        exportWorker: { pollMs: 50, maxAttempts: 1 },
      });
      const id = await submit(ferry.url!, { name: 'sorted', dataset: { ...FULL_WIDTH, orderBy: [{ column: 'street_address' }, { column: 'occupancy', direction: 'desc' }] } });
      const done = await ended(ferry.url!, id, 120_000);
      expect(done).toMatchObject({ state: 'failed', attempts: 1 });
      expect(done.error).toMatch(/^disk full: /);
      const spill = await filesUnder(join(dataDir, 'duckdb-tmp'));
      expect(spill.filter((f) => !f.endsWith('.owner'))).toEqual([]);
      await ferry.stop();
    } finally {
      await unmount(disk);
    }
  });
});

