import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { waitFor } from '@ferry/testing';
import { TEST_SERVICE_ACCOUNT, startFakeGcsFor, type FakeGcs } from '@ferry/store-gcs/testing';
import { RENTALS_COLUMNS } from '@ferry/sample-rentals';
import { seededDataDir } from './test-support/data-dir.js';
import { listeningUrl, spawnFerry, type FerryProcess } from './test-support/processes.js';

/*
 * README "SIGTERM/SIGINT stop gracefully: no new claims, running exports get 10 s to finish and are
 * otherwise released for another worker"; docs/deployment.md: released exports "go back to the
 * queue at once, without counting the attempt". Run as an operator runs it: `ferry serve` as a real
 * process, exporting the whole sample dataset to a GCS bucket whose uploads stall (a slow store), so
 * the export is certain to be still running when the 10 s are up, whatever the machine's speed.
 */

const KEY = 'shutdown-test-key-0001';
const BUCKET = 'ferry-shutdown';
const SAMPLE_ROWS = 998_400;

let dataDir: string;
let gcs: FakeGcs;
const children: FerryProcess[] = [];

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-shutdown-');
  gcs = await startFakeGcsFor(BUCKET);
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await gcs?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function serve(config: string): Promise<FerryProcess & { url: string }> {
  const child = spawnFerry(['serve', '--config', config], { FERRY_API_KEY: KEY });
  children.push(child);
  return { ...child, url: await listeningUrl(child) };
}

async function status(url: string, id: string): Promise<{ state: string; attempts: number; numberRows: number | null }> {
  return (await (await fetch(`${url}/dataset/export/${id}`, { headers: { 'x-api-key': KEY } })).json()) as { state: string; attempts: number; numberRows: number | null };
}

/** What the job store holds while no process runs. */
async function stored(id: string) {
  const jobs = new SqliteJobStore({ file: join(dataDir, 'ferry.db') });
  try {
    return await jobs.exports.get(id);
  } finally {
    await jobs.close();
  }
}

it('releases a running export on SIGTERM (queued again, the attempt not counted), exits 0, and the next start completes it', async () => {
  const config = join(dataDir, 'ferry.config.json');
  await writeFile(
    config,
    JSON.stringify({
      dataDir,
      server: { port: 0 },
      notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
      store: {
        use: 'gcs',
        options: { bucket: BUCKET, apiEndpoint: gcs.endpoint, projectId: 'ferry-tests', credentials: { client_email: TEST_SERVICE_ACCOUNT.client_email, private_key: TEST_SERVICE_ACCOUNT.private_key } },
      },
    }),
  );
  const stall = gcs.holdUploads();
  const first = await serve(config);
  const submitted = await fetch(`${first.url}/dataset/export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({
      // Every row and column of the sample dataset.
      dataset: { scopes: RENTALS_COLUMNS.map((c) => ({ column: c.name })), limit: 1_000_000, orderBy: null },
      webhookURL: 'http://127.0.0.1:9/hook',
      name: 'everything',
      format: 'csv',
    }),
  });
  expect(submitted.status).toBe(201);
  const { queryUUID } = (await submitted.json()) as { queryUUID: string };
  await stall.held;
  expect(await status(first.url, queryUUID)).toMatchObject({ state: 'running', attempts: 1 });

  expect(await first.kill('SIGTERM')).toBe(0);
  expect(first.output()).toContain('SIGTERM: stopping');
  expect(await stored(queryUUID)).toMatchObject({ state: 'queued', attempts: 0, error: null });

  stall.release();
  const second = await serve(config);
  const done = await waitFor('the export to complete after the restart', async () => {
    const s = await status(second.url, queryUUID);
    if (s.state === 'failed') throw new Error(`the export failed: ${JSON.stringify(s)}`);
    return s.state === 'completed' ? s : undefined;
  }, 180_000);
  expect(done).toMatchObject({ state: 'completed', attempts: 1, numberRows: SAMPLE_ROWS });
  expect(await second.kill('SIGTERM')).toBe(0);
}, 300_000);
