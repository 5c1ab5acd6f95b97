import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckdbRows, arrowStreamToParquet, guardLoopbackOnly, type LoopbackGuard } from '@ferry/testing';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHarness } from '@ferry/store-s3/testing';
import { TEST_SERVICE_ACCOUNT, startFakeGcsFor, type FakeGcs } from '@ferry/store-gcs/testing';
import { rentalsPath } from '@ferry/sample-rentals';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { waitFor } from '@ferry/testing';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';

const KEY = 'formats-and-stores-key';
const BUCKET = 'ferry-exports';
const QUERY = {
  scopes: [{ column: 'msa' }, { column: 'bed' }, { column: 'as_of_week', granularity: 'quarter' }, { column: 'asking_rent', aggregate: 'Median' }],
  filters: [{ column: 'state', filter: { in: ['WA', 'OR', 'CA'] } }],
  limit: 500,
};

let dataDir: string;
let rx: ScriptedReceiver;
let s3: S3rverHarness;
let gcs: FakeGcs;
let guard: LoopbackGuard;


function ferryWith(store: { use: string; options?: Record<string, unknown> }, name: string) {
  return startFerry(
    defineConfig({
      dataDir,
      sources: { default: { use: 'duckdb', options: { pushdown: true } } },
      server: { port: 0 },
      logLevel: 'silent',
      jobs: { use: 'sqlite', options: { file: `${name}.db` } },
      store,
      notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
    }),
    KEY,
  );
}

async function call(ferry: FerryRuntime, method: string, path: string, body?: unknown) {
  const res = await fetch(`${ferry.url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

type Status = { state: string; numberRows: number; encodedBy: string; download: { url: string; fileName: string; bytes: number } };

async function exportAndWait(ferry: FerryRuntime, request: Record<string, unknown>): Promise<Status> {
  const res = await call(ferry, 'POST', '/dataset/export', { webhookURL: `${rx.url}/hook`, name: 'Rents by quarter', format: 'csv', dataset: QUERY, ...request });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return waitFor('the export', async () => {
    const s = (await call(ferry, 'GET', `/dataset/export/${res.json.queryUUID as string}`)).json as unknown as Status;
    if (s.state === 'failed') throw new Error(`export failed: ${JSON.stringify(s)}`);
    return s.state === 'completed' ? s : undefined;
  });
}

beforeAll(async () => {
  guard = guardLoopbackOnly();
  dataDir = await seededDataDir('ferry-formats-');
  rx = await startScriptedReceiver();
  [s3, gcs] = await Promise.all([startS3rver([BUCKET]), startFakeGcsFor(BUCKET)]);
});

afterAll(async () => {
  await Promise.all([s3?.stop(), gcs?.stop(), rx?.close()]);
  await rm(dataDir, { recursive: true, force: true });
  guard?.restore();
  expect(guard?.attempts).toEqual([]);
});

describe('the same export through every store', () => {
  it('is downloadable through its 30-day link with identical bytes from local disk, S3 and GCS', async () => {
    const stores = {
      local: { use: 'local' },
      s3: { use: 's3', options: { bucket: BUCKET, endpoint: s3.endpoint, forcePathStyle: true, ...S3RVER_CREDENTIALS } },
      gcs: { use: 'gcs', options: { bucket: BUCKET, apiEndpoint: gcs.endpoint, projectId: 'test-project', credentials: { client_email: TEST_SERVICE_ACCOUNT.client_email, private_key: TEST_SERVICE_ACCOUNT.private_key } } },
    };
    const files: Record<string, Buffer> = {};
    for (const [name, store] of Object.entries(stores)) {
      const ferry = await ferryWith(store, name);
      try {
        const status = await exportAndWait(ferry, {});
        const first = await fetch(status.download.url, { redirect: 'manual' });
        if (name === 'local') expect(first.status).toBe(200);
        else {
          // A fresh short-lived URL signed by the store, on every use of Ferry's stable link.
          expect(first.status).toBe(302);
          expect(new URL(first.headers.get('location')!).hostname).toBe('127.0.0.1');
          await first.body?.cancel();
        }
        const res = await fetch(status.download.url);
        expect(res.status).toBe(200);
        files[name] = Buffer.from(await res.arrayBuffer());
        expect(files[name]!.length).toBe(status.download.bytes);
        const ranged = await fetch(status.download.url, { headers: { range: 'bytes=0-9' } });
        expect(Buffer.from(await ranged.arrayBuffer())).toEqual(files[name]!.subarray(0, 10));
      } finally {
        await ferry.stop();
      }
    }
    expect(files.s3!.equals(files.local!)).toBe(true);
    expect(files.gcs!.equals(files.local!)).toBe(true);
    const csv = gunzipSync(files.local!).toString('utf8');
    expect(csv.split('\n')[0]).toBe('msa,bed,as_of_week_quarter,median_asking_rent');
  });
});

describe('formats, compression and retention through the API', () => {
  let ferry: FerryRuntime;
  beforeAll(async () => {
    ferry = await ferryWith({ use: 'local' }, 'formats');
  });
  afterAll(async () => ferry?.stop());

  it('writes Parquet and Arrow that read back equal to the same query in DuckDB', async () => {
    const reference = await duckdbRows(
      `SELECT msa, bed, date_trunc('quarter', as_of_week)::DATE AS q, median(asking_rent)::DOUBLE
       FROM read_parquet('${rentalsPath(dataDir)}') WHERE state IN ('WA', 'OR', 'CA')
       GROUP BY ALL ORDER BY 1, 2, 3 LIMIT 500`,
    );
    for (const format of ['parquet', 'arrow'] as const) {
      // Parquet compresses inside; Arrow asks for none here, as a client reading it in place would.
      const status = await exportAndWait(ferry, { format, ...(format === 'arrow' ? { compression: 'none' } : {}) });
      expect(status.download.fileName).toBe(format === 'parquet' ? 'Rents-by-quarter.parquet' : 'Rents-by-quarter.arrows');
      const file = join(dataDir, status.download.fileName);
      await writeFile(file, Buffer.from(await (await fetch(status.download.url)).arrayBuffer()));
      const parquet = format === 'parquet' ? file : await arrowStreamToParquet(file);
      const rows = await duckdbRows(`SELECT * FROM read_parquet('${parquet}')`);
      expect(rows).toEqual(reference);
      expect(status.numberRows).toBe(reference.length);
      // DuckDB writes Parquet itself (pushdown by meaning); Arrow IPC is always Ferry's.
      expect(status.encodedBy).toBe(format === 'parquet' ? 'source' : 'ferry');
    }
  });

  it('lets the source encode a CSV, and says so', async () => {
    const pushed = await exportAndWait(ferry, { dataset: { scopes: [{ column: 'msa' }, { column: 'property_id', aggregate: 'CountDistinct' }] }, compression: 'none' });
    expect(pushed.encodedBy).toBe('source');
    const text = await (await fetch(pushed.download.url)).text();
    expect(text.split('\n')[0]).toBe('msa,count_distinct_property_id');
    expect(text.trim().split('\n')).toHaveLength(pushed.numberRows + 1);
    expect(pushed.download.fileName).toBe('Rents-by-quarter.csv');
  });

  it('refuses compression that does not fit the format or the runtime, with a path', async () => {
    const bad = await call(ferry, 'POST', '/dataset/export', { webhookURL: `${rx.url}/hook`, name: 'x', format: 'parquet', compression: 'gzip', dataset: QUERY });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'VALIDATION_FAILED', path: 'compression' });
    const zstd = await call(ferry, 'POST', '/dataset/export', { webhookURL: `${rx.url}/hook`, name: 'x', format: 'csv', compression: 'zstd', dataset: QUERY });
    const hasZstd = typeof (await import('node:zlib') as unknown as Record<string, unknown>).createZstdCompress === 'function';
    expect(zstd.status).toBe(hasZstd ? 201 : 400);
  });

  it('splits a large export into numbered parts plus a manifest, listed in the webhook and the status API', async () => {
    const dataset = { scopes: [{ column: 'property_id' }, { column: 'street_address' }, { column: 'as_of_week' }, { column: 'asking_rent' }], filters: [{ column: 'msa', filter: { equals: 'Seattle, WA' } }], limit: 25_000 };
    const status = (await exportAndWait(ferry, { dataset, maxFileRows: 10_000, name: 'Seattle weekly' })) as Status & {
      files: Array<{ url: string; fileName: string; rows: number; bytes: number; sha256: string }>;
      manifestUrl: string;
      queryUUID: string;
    };
    expect(status.files.map((f) => [f.fileName, f.rows])).toEqual([
      ['Seattle-weekly.part-00001.csv.gz', 10_000],
      ['Seattle-weekly.part-00002.csv.gz', 10_000],
      ['Seattle-weekly.part-00003.csv.gz', 5_000],
    ]);
    const manifest = (await (await fetch(status.manifestUrl)).json()) as { files: Array<{ name: string; rows: number; bytes: number; sha256: string }> };
    const all: unknown[][] = [];
    for (const [i, f] of status.files.entries()) {
      const bytes = Buffer.from(await (await fetch(f.url)).arrayBuffer());
      const { createHash } = await import('node:crypto');
      expect(manifest.files[i]).toEqual({ name: f.fileName, rows: f.rows, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      const file = join(dataDir, f.fileName);
      await writeFile(file, bytes);
      all.push(...(await duckdbRows(`SELECT * FROM read_csv('${file}', header = true, columns = {'property_id': 'BIGINT', 'street_address': 'VARCHAR', 'as_of_week': 'DATE', 'asking_rent': 'INTEGER'})`)));
    }
    const direct = await duckdbRows(
      `SELECT property_id, street_address, as_of_week, asking_rent FROM read_parquet('${rentalsPath(dataDir)}') WHERE msa = 'Seattle, WA'
       ORDER BY 1, 2, 3, 4 LIMIT 25000`,
    );
    expect(all).toEqual(direct);
    const hook = await waitFor('the split webhook', () => rx.to('/hook').map((h) => JSON.parse(h.body) as Record<string, unknown>).find((b) => Array.isArray(b.files)));
    expect(hook.gcsBlob).toMatchObject({ url: status.files[0]!.url, numberRows: 25_000 });
    expect((hook.files as Array<{ url: string }>).map((f) => f.url)).toEqual(status.files.map((f) => f.url));
    expect(hook.manifestUrl).toBe(status.manifestUrl);

    const bySize = (await exportAndWait(ferry, { dataset: { ...dataset, limit: 200_000, filters: [] }, maxFileBytes: 1024 * 1024, compression: 'none', name: 'by size' })) as Status & {
      files: Array<{ bytes: number; rows: number }>;
    };
    expect(bySize.files.length).toBeGreaterThan(3);
    expect(bySize.files.reduce((n, f) => n + f.rows, 0)).toBe(200_000);
  });

  it('deletes files past retention, marks the export expired, and answers its link with 410', async () => {
    const status = await exportAndWait(ferry, { format: 'jsonl' });
    expect((await fetch(status.download.url)).status).toBe(200);
    await ferry.workers!.retention.sweep(new Date(Date.now() + 31 * 86_400_000));
    const gone = await fetch(status.download.url);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'GONE', message: expect.stringContaining('expired') });
  });
});
