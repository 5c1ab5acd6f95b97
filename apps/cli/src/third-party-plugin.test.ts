import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFerryClient } from '@ferry/client';
import { seededDataDir } from './test-support/data-dir.js';
import { installPacked, packWorkspace, WORKSPACE } from './test-support/packed.js';
import { listeningUrl, spawnFerry, type FerryProcess } from './test-support/processes.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const run = promisify(execFile);
const EXAMPLE = join(WORKSPACE, 'examples', 'store-sqlite-blobs');
const KEY = 'third-party-key-0123456789';

let work: string;
let plugin: string;
let tarballs: Map<string, string>;
const processes: FerryProcess[] = [];
let rx: ScriptedReceiver | undefined;

/** Run a command in the plugin's folder; stdout and stderr together, or the failure with them. */
async function inPlugin(file: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [file, ...args], { cwd: plugin, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }).catch((err: { stdout: string; stderr: string }) => {
    throw new Error(`${[file, ...args].join(' ')} failed:\n${err.stdout}\n${err.stderr}`);
  });
  return stdout + stderr;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-third-party-'));
  await mkdir(join(work, 'tarballs'));
  tarballs = await packWorkspace(join(work, 'tarballs'));
  // The example plugin as its author's own repository: its files only, outside the workspace.
  plugin = join(work, 'ferry-store-sqlite-blobs');
  await mkdir(plugin);
  for (const entry of ['package.json', 'tsconfig.json', 'vitest.config.ts', 'README.md', 'src']) await cp(join(EXAMPLE, entry), join(plugin, entry), { recursive: true });
  await installPacked(plugin, tarballs);
}, 600_000);

afterAll(async () => {
  for (const p of processes) await p.kill();
  await rx?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a store plugin written outside the workspace, against the packed packages', () => {
  it('packs every package with its build and no sources', async () => {
    expect([...tarballs.keys()]).toEqual(expect.arrayContaining(['@ferry/core', '@ferry/testing', '@ferry/cli', '@ferry/engine', '@ferry/store-local']));
    const { stdout } = await run('tar', ['-tzf', tarballs.get('@ferry/core')!]);
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/package.json']));
    expect(files.filter((f) => f.startsWith('package/src/') || f.includes('.test.'))).toEqual([]);
  });

  it('type-checks and builds with the published declarations', async () => {
    await inPlugin(join('node_modules', 'typescript', 'bin', 'tsc'), ['-p', 'tsconfig.json']);
    expect((await readdir(join(plugin, 'dist'))).sort()).toEqual(expect.arrayContaining(['index.d.ts', 'index.js', 'sqlite-blob-store.js']));
  });

  it('passes the store conformance suite from @ferry/testing/store, unchanged', async () => {
    const out = await inPlugin(join('node_modules', 'vitest', 'vitest.mjs'), ['run', '--reporter=verbose']);
    expect(out).toMatch(/store conformance: sqlite-blobs/);
    expect(out).toMatch(/Tests\s+\d+ passed/);
    expect(out).not.toMatch(/\d+ failed/);
  });

  it('is used from a config file by the packed CLI: an export is stored in its SQLite file and downloads', async () => {
    await inPlugin(join('node_modules', 'typescript', 'bin', 'tsc'), ['-p', 'tsconfig.json']);
    rx = await startScriptedReceiver();
    const dataDir = await seededDataDir('ferry-third-party-data-');
    const config = join(plugin, 'ferry.config.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir,
        server: { port: 0 },
        logLevel: 'silent',
        plugins: ['./dist/index.js'],
        store: { use: 'sqlite-blobs', options: { file: 'objects.sqlite' } },
        notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
      }),
    );
    const ferry = spawnFerry(['serve', '--config', config], { FERRY_API_KEY: KEY, FERRY_LOG_LEVEL: 'error' }, { bin: join(plugin, 'node_modules', '@ferry', 'cli', 'dist', 'main.js'), cwd: plugin });
    processes.push(ferry);
    // A failed call says what the process logged (errors only).
    const explain = (err: unknown): never => {
      throw new Error(`${String(err)}; ferry printed:\n${ferry.output()}`);
    };
    const client = createFerryClient({ baseUrl: await listeningUrl(ferry), apiKey: KEY });
    const { queryUUID } = await client
      .submitExport({ dataset: { scopes: [{ column: 'msa' }, { column: 'asking_rent' }], limit: 500 }, webhookURL: `${rx.url}/done`, name: 'third-party store', format: 'csv' })
      .catch(explain);
    const done = await client.waitForExport(queryUUID, { intervalMs: 100 }).catch(explain);
    expect(done.state).toBe('completed');

    const db = new Database(join(dataDir, 'objects.sqlite'), { readonly: true });
    const stored = db.prepare('SELECT key, size FROM objects').all() as Array<{ key: string; size: number }>;
    db.close();
    expect(stored.some((o) => o.key.includes(queryUUID) && o.size > 0)).toBe(true);

    const [file] = await client.downloadExport(queryUUID, { dir: join(work, 'downloaded') }).catch(explain);
    const lines = gunzipSync(await readFile(file!)).toString('utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('msa,asking_rent');
    expect(lines).toHaveLength(501);
  });
});
