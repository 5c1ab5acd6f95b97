import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@ferry/testing';
import { builtInPlugins, BUILT_IN_PLUGINS } from './plugins.js';
import { listeningUrl, spawnFerry } from './test-support/processes.js';
import { seededDataDir } from './test-support/data-dir.js';

const MODULE_LOG = fileURLToPath(new URL('./test-support/module-log.mjs', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-lazy-plugins-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Start `ferry serve` as a real process with a hook that logs every module it loads, wait until it
 * is listening (and, when `ready`, until /readyz answers 200), stop it, and return the module URLs.
 */
async function modulesLoadedBy(name: string, config: Record<string, unknown>, ready: boolean): Promise<string[]> {
  const dataDir = await seededDataDir('ferry-lazy-data-');
  const configFile = join(dir, `${name}.json`);
  const log = join(dir, `${name}.modules.txt`);
  await writeFile(configFile, JSON.stringify({ dataDir, server: { port: 0 }, ...config }));
  const ferry = spawnFerry(['serve', '--config', configFile], {
    NODE_OPTIONS: `--import=${MODULE_LOG}`,
    FERRY_TEST_MODULE_LOG: log,
    FERRY_API_KEY: 'lazy-plugins-key-123',
  });
  try {
    const url = await listeningUrl(ferry);
    if (ready) await waitFor('/readyz to answer 200', async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
  } finally {
    await ferry.kill('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
  return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
}

const loaded = (modules: string[], part: string) => modules.some((url) => url.includes(part));

describe('plugins load lazily', () => {
  it('knows every built-in plugin by name without importing one', () => {
    const registry = builtInPlugins();
    expect(registry.names('store')).toEqual(['local', 's3', 'gcs']);
    expect(registry.names('format')).toEqual(['csv', 'jsonl', 'parquet', 'arrow']);
    expect(registry.names('jobs')).toEqual(BUILT_IN_PLUGINS.filter((p) => p.kind === 'jobs').map((p) => p.name));
  });

  it('a default `ferry serve` imports the plugins its config uses, and none of the S3, GCS, PostgreSQL or NATS modules or SDKs', async () => {
    const modules = await modulesLoadedBy('default', {}, true);
    // What the default config uses is loaded: the log sees the modules a start-up imports.
    for (const used of ['/packages/jobs-sqlite/src/', '/packages/store-local/src/', '/packages/source-duckdb/src/', '/packages/format-parquet/src/', '/node_modules/@duckdb/node-api/']) {
      expect(loaded(modules, used), used).toBe(true);
    }
    for (const unused of ['/packages/store-s3/', '/packages/store-gcs/', '/packages/jobs-postgres/', '/packages/source-postgres/', '/node_modules/@aws-sdk/', '/node_modules/@google-cloud/', '/node_modules/pg/', '/packages/notifier-nats/', '/node_modules/@nats-io/']) {
      expect(loaded(modules, unused), unused).toBe(false);
    }
  });

  it('imports a plugin (and its SDK) once a slot uses it, and leaves out the formats no slot names', async () => {
    const modules = await modulesLoadedBy(
      's3',
      {
        store: { use: 's3', options: { bucket: 'lazy-bucket', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, region: 'us-east-1' } },
        formats: { csv: { use: 'csv' } },
      },
      false,
    );
    expect(loaded(modules, '/packages/store-s3/src/')).toBe(true);
    expect(loaded(modules, '/node_modules/@aws-sdk/client-s3/')).toBe(true);
    expect(loaded(modules, '/packages/store-local/')).toBe(false);
    expect(loaded(modules, '/packages/format-parquet/')).toBe(false);
    expect(loaded(modules, '/packages/store-gcs/')).toBe(false);
  });
});
