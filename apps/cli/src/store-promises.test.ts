import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { guardLoopbackOnly, waitFor, type LoopbackGuard } from '@ferry/testing';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHarness } from '@ferry/store-s3/testing';
import { TEST_SERVICE_ACCOUNT, startFakeGcsFor, type FakeGcs } from '@ferry/store-gcs/testing';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { seededDataDir } from './test-support/data-dir.js';

/*
 * Two promises that depend on the store, checked in every store through the API:
 * - README "Download links": after the retention period the file is deleted and the link answers
 *   410; every file of a split export and its manifest, gone from the store itself.
 * - "supports Range requests": with S3 and GCS, the link redirects (302) to the store, which serves
 *   exactly the bytes asked for; a range the file does not have is a 416 with `bytes * /<length>`.
 */

const KEY = 'store-promises-key-01';
const BUCKET = 'ferry-promises';
const DAY = 86_400_000;

let dataDir: string;
let s3: S3rverHarness;
let gcs: FakeGcs;
let guard: LoopbackGuard;

/** What a store holds under a prefix, asked of the store itself (its own protocol, or the disk). */
type Lister = (prefix: string) => Promise<string[]>;

interface StoreUnderTest {
  name: string;
  slot: () => { use: string; options?: Record<string, unknown> };
  list: Lister;
  redirects: boolean;
}

const STORES: StoreUnderTest[] = [
  {
    name: 'local',
    slot: () => ({ use: 'local', options: { root: join(dataDir, 'local-exports') } }),
    list: async (prefix) => (await readdir(join(dataDir, 'local-exports', prefix)).catch(() => [] as string[])).map((f) => `${prefix}${f}`),
    redirects: false,
  },
  {
    name: 's3',
    slot: () => ({ use: 's3', options: { bucket: BUCKET, endpoint: s3.endpoint, forcePathStyle: true, ...S3RVER_CREDENTIALS } }),
    list: async (prefix) => {
      const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS } });
      try {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
        return (listed.Contents ?? []).map((o) => o.Key!);
      } finally {
        client.destroy();
      }
    },
    redirects: true,
  },
  {
    name: 'gcs',
    slot: () => ({
      use: 'gcs',
      options: { bucket: BUCKET, apiEndpoint: gcs.endpoint, projectId: 'ferry-tests', credentials: { client_email: TEST_SERVICE_ACCOUNT.client_email, private_key: TEST_SERVICE_ACCOUNT.private_key } },
    }),
    list: async (prefix) => {
      const res = await fetch(`${gcs.endpoint}/storage/v1/b/${BUCKET}/o?prefix=${encodeURIComponent(prefix)}`);
      return ((await res.json()) as { items: Array<{ name: string }> }).items.map((o) => o.name);
    },
    redirects: true,
  },
];

beforeAll(async () => {
  guard = guardLoopbackOnly();
  dataDir = await seededDataDir('ferry-store-promises-');
  [s3, gcs] = await Promise.all([startS3rver([BUCKET]), startFakeGcsFor(BUCKET)]);
});

afterAll(async () => {
  await Promise.all([s3?.stop(), gcs?.stop()]);
  await rm(dataDir, { recursive: true, force: true });
  guard?.restore();
  expect(guard?.attempts).toEqual([]);
});

type Status = {
  state: string;
  download: { url: string; bytes: number } | null;
  files?: Array<{ url: string; fileName: string }>;
  manifestUrl?: string;
};

async function exportAndWait(ferry: FerryRuntime, request: Record<string, unknown>): Promise<Status & { queryUUID: string }> {
  const res = await fetch(`${ferry.url}/dataset/export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    // Nothing listens on port 9: the webhook fails, which these promises do not depend on.
    body: JSON.stringify({ webhookURL: 'http://127.0.0.1:9/hook', name: 'Store promises', format: 'csv', ...request }),
  });
  const body = (await res.json()) as { queryUUID: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  const status = await waitFor('the export', async () => {
    const s = (await (await fetch(`${ferry.url}/dataset/export/${body.queryUUID}`, { headers: { 'x-api-key': KEY } })).json()) as Status;
    if (s.state === 'failed') throw new Error(`export failed: ${JSON.stringify(s)}`);
    return s.state === 'completed' ? s : undefined;
  });
  return { ...status, queryUUID: body.queryUUID };
}

for (const store of STORES) {
  describe(`the ${store.name} store`, () => {
    let ferry: FerryRuntime;
    beforeAll(async () => {
      ferry = await startFerry(
        defineConfig({
          dataDir,
          server: { port: 0 },
          logLevel: 'silent',
          // Its own job store: a retention sweep here sees only this instance's exports.
          jobs: { use: 'sqlite', options: { file: `promises-${store.name}.db` } },
          store: store.slot(),
          notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
        }),
        KEY,
        { deliveryWorker: { scheduleMs: [0] } },
      );
    });
    afterAll(async () => ferry?.stop());

    it('deletes every part and the manifest of a split export when retention ends, and its links answer 410', async () => {
      const status = await exportAndWait(ferry, {
        dataset: { scopes: [{ column: 'property_id' }, { column: 'as_of_week' }, { column: 'asking_rent' }], filters: [{ column: 'msa', filter: { equals: 'Seattle, WA' } }], limit: 2_500 },
        maxFileRows: 1_000,
        compression: 'none',
      });
      const links = [...status.files!.map((f) => f.url), status.manifestUrl!];
      expect(links).toHaveLength(4);
      const prefix = `${status.queryUUID}/`;
      const before = (await store.list(prefix)).filter((k) => !k.endsWith('.ferry-meta.json'));
      expect(before.sort()).toEqual(
        ['Store-promises.manifest.json', 'Store-promises.part-00001.csv', 'Store-promises.part-00002.csv', 'Store-promises.part-00003.csv'].map((f) => `${prefix}${f}`),
      );
      for (const link of links) expect((await fetch(link, { redirect: 'manual' })).status).toBe(store.redirects ? 302 : 200);

      // The sweep as it runs every minute, on the day after the 30 days of retention.
      await ferry.workers!.retention.sweep(new Date(Date.now() + 31 * DAY));

      expect(await store.list(prefix)).toEqual([]);
      for (const link of links) {
        const gone = await fetch(link, { redirect: 'manual' });
        expect(gone.status).toBe(410);
        expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('GONE');
      }
      expect((await (await fetch(`${ferry.url}/dataset/export/${status.queryUUID}`, { headers: { 'x-api-key': KEY } })).json()) as Status).toMatchObject({ state: 'expired' });
    });

    it('serves a Range request with exactly those bytes, and answers a range past the end 416 with bytes */length', async () => {
      const status = await exportAndWait(ferry, { dataset: { scopes: [{ column: 'msa' }, { column: 'bed' }, { column: 'asking_rent', aggregate: 'Max' }] }, compression: 'none' });
      const whole = Buffer.from(await (await fetch(status.download!.url)).arrayBuffer());
      expect(whole.length).toBe(status.download!.bytes);
      expect(whole.length).toBeGreaterThan(200);

      const first = await fetch(status.download!.url, { headers: { range: 'bytes=100-149' }, redirect: 'manual' });
      let ranged = first;
      if (store.redirects) {
        // Ferry sends the client to a short-lived URL of the store; the client repeats its Range there.
        expect(first.status).toBe(302);
        const location = new URL(first.headers.get('location')!);
        expect(location.hostname).toBe('127.0.0.1');
        await first.body?.cancel();
        ranged = await fetch(location, { headers: { range: 'bytes=100-149' } });
      }
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(`bytes 100-149/${whole.length}`);
      expect(Buffer.from(await ranged.arrayBuffer())).toEqual(whole.subarray(100, 150));

      const past = await fetch(status.download!.url, { headers: { range: `bytes=${whole.length}-` }, redirect: 'manual' });
      expect(past.status).toBe(416);
      expect(past.headers.get('content-range')).toBe(`bytes */${whole.length}`);
      expect(((await past.json()) as { error: { code: string } }).error.code).toBe('RANGE_NOT_SATISFIABLE');
    });
  });
}
