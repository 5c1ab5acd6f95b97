import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError, formatPath } from '@ferry/core';
import { waitFor } from '@ferry/testing';
import { loadConfig } from './config.js';
import { builtInPlugins, configuredPlugins } from './plugins.js';
import { locatePluginModule } from './plugin-modules.js';
import { listeningUrl, spawnFerry } from './test-support/processes.js';
import { seededDataDir } from './test-support/data-dir.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const WORKSPACE = fileURLToPath(new URL('../../../', import.meta.url));
const KEY = 'third-party-plugins-key';

/**
 * A format a contributor wrote in their own folder: cells joined by "|", upper-cased when asked.
 * It imports Ferry's core and zod as an installed package would.
 */
const PIPES_MODULE = `
import { z } from 'zod';
import { definePlugin } from '@ferry/core';

class PipesWriter {
  name = 'pipes';
  mediaType = 'text/plain; charset=utf-8';
  extension = 'txt';
  compressible = true;
  constructor(options) { this.options = options; }
  async *write(schema, batches, { signal }) {
    const text = (s) => (this.options.upper ? s.toUpperCase() : s);
    yield Buffer.from(text(schema.fields.map((f) => f.name).join('|')) + '\\n');
    for await (const batch of batches) {
      signal.throwIfAborted();
      const columns = schema.fields.map((_, c) => batch.getChildAt(c));
      let out = '';
      for (let i = 0; i < batch.numRows; i++) out += text(columns.map((col) => String(col.get(i) ?? '')).join('|')) + '\\n';
      yield Buffer.from(out);
    }
  }
}

export const pipesFormat = definePlugin({
  kind: 'format',
  name: 'pipes',
  options: z.strictObject({ upper: z.boolean().default(false) }),
  capabilities: { streaming: true, compressible: true },
  create: (options) => new PipesWriter(options),
});

/** Not a plugin: left alone. */
export const PIPE = '|';
`;

/** The same contributor's second format, published as a package whose default export is an array. */
const PACKAGE_INDEX = `
import { z } from 'zod';
import { definePlugin } from '@ferry/core';

const rowCount = definePlugin({
  kind: 'format',
  name: 'row-count',
  options: z.strictObject({}),
  capabilities: { streaming: false },
  create: () => ({
    name: 'row-count',
    mediaType: 'text/plain; charset=utf-8',
    extension: 'count',
    compressible: false,
    async *write(_schema, batches) {
      let rows = 0;
      for await (const batch of batches) rows += batch.numRows;
      yield Buffer.from(rows + '\\n');
    },
  }),
});

export default [rowCount];
`;

let dir: string;
let dataDir: string;
let rx: ScriptedReceiver;

async function write(relative: string, text: string): Promise<string> {
  const file = join(dir, relative);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-third-party-'));
  // What `npm install` of Ferry's packages gives the contributor's folder (links, as `npm link` makes).
  await mkdir(join(dir, 'node_modules', '@ferry'), { recursive: true });
  await symlink(join(WORKSPACE, 'packages', 'core'), join(dir, 'node_modules', '@ferry', 'core'));
  await symlink(join(WORKSPACE, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'));
  await write('plugins/pipes.mjs', PIPES_MODULE);
  await write('node_modules/ferry-format-row-count/package.json', JSON.stringify({ name: 'ferry-format-row-count', type: 'module', exports: { '.': { default: './index.js' } } }));
  await write('node_modules/ferry-format-row-count/index.js', PACKAGE_INDEX);
  await write('plugins/not-a-plugin.mjs', `export const helper = () => 1;\nexport default { pipes: true };\n`);
  await write('plugins/bad-kind.mjs', `import { z } from 'zod';\nexport const kafkaSink = { kind: 'sink', name: 'kafka', options: z.object({}), capabilities: {}, create() {} };\n`);
  await write('plugins/second-csv.mjs', `import { z } from 'zod';\nexport default [{ kind: 'format', name: 'csv', options: z.object({}), capabilities: {}, create() {} }];\n`);
  await write('plugins/throws.mjs', `throw new Error('no licence key\\nsecond line');\n`);
  dataDir = await seededDataDir('ferry-third-party-data-');
  rx = await startScriptedReceiver();
});

afterAll(async () => {
  await rx?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; path?: string }> {
  const err = await p.then(() => null, (e: unknown) => e);
  if (!(err instanceof FerryError)) throw new Error(`expected a FerryError, got ${String(err)}`);
  return { code: err.code, message: err.message, ...(err.path ? { path: formatPath(err.path) } : {}) };
}

describe('third-party plugins from the config file', () => {
  it('locates paths relative to the config file and packages from its folder', () => {
    expect(locatePluginModule('./plugins/pipes.mjs', dir)).toBe(join(dir, 'plugins', 'pipes.mjs'));
    expect(locatePluginModule('../elsewhere/x.mjs', join(dir, 'conf'))).toBe(join(dir, 'elsewhere', 'x.mjs'));
    expect(locatePluginModule('ferry-format-row-count', dir, tmpdir())).toBe(join(dir, 'node_modules', 'ferry-format-row-count', 'index.js'));
    // Found from the working directory when not from the config's folder.
    expect(locatePluginModule('ferry-format-row-count', tmpdir(), dir)).toBe(join(dir, 'node_modules', 'ferry-format-row-count', 'index.js'));
    // Neither: left for Ferry's own install to resolve (and to report when it cannot).
    expect(locatePluginModule('ferry-format-nowhere', dir, dir)).toBe('ferry-format-nowhere');
  });

  it('a real ferry process exports through the plugins a config file names', async () => {
    const configFile = await write(
      'ferry.config.json',
      JSON.stringify({
        dataDir,
        server: { port: 0 },
        plugins: ['./plugins/pipes.mjs', 'ferry-format-row-count'],
        formats: { csv: { use: 'csv' }, shout: { use: 'pipes', options: { upper: true } }, count: { use: 'row-count' } },
      }),
    );
    const ferry = spawnFerry(['serve', '--config', configFile], { FERRY_API_KEY: KEY, FERRY_WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32' });
    try {
      const url = await listeningUrl(ferry);
      const exportAs = async (format: string) => {
        const res = await fetch(`${url}/dataset/export`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: JSON.stringify({
            dataset: { scopes: [{ column: 'msa' }, { column: 'bed' }], filters: [{ column: 'msa', filter: { equals: 'Seattle, WA' } }], limit: 2 },
            webhookURL: `${rx.url}/hook`,
            name: `as ${format}`,
            format,
          }),
        });
        expect(res.status).toBe(201);
        const { queryUUID } = (await res.json()) as { queryUUID: string };
        const status = await waitFor('the export to complete', async () => {
          const s = (await (await fetch(`${url}/dataset/export/${queryUUID}`, { headers: { 'x-api-key': KEY } })).json()) as { state: string; download: { url: string; fileName: string } };
          if (s.state === 'failed') throw new Error(`export failed: ${JSON.stringify(s)}`);
          return s.state === 'completed' ? s : undefined;
        });
        return { fileName: status.download.fileName, bytes: Buffer.from(await (await fetch(status.download.url)).arrayBuffer()) };
      };
      const shout = await exportAs('shout');
      expect(shout.fileName).toBe('as-shout.txt.gz');
      const lines = gunzipSync(shout.bytes).toString('utf8').trimEnd().split('\n');
      expect(lines[0]).toBe('MSA|BED');
      expect(lines.slice(1)).toHaveLength(2);
      for (const line of lines.slice(1)) expect(line).toMatch(/^SEATTLE, WA\|\d+$/);
      const count = await exportAs('count');
      expect(count.fileName).toBe('as-count.count');
      expect(count.bytes.toString('utf8')).toBe('2\n');
    } finally {
      await ferry.kill('SIGTERM');
    }
  });

  it('stops start-up with one line naming plugins[i] and the module when a module cannot be used', async () => {
    const configFile = await write('broken.json', JSON.stringify({ dataDir, server: { port: 0 }, plugins: ['./plugins/pipes.mjs', './plugins/missing.mjs'] }));
    const ferry = spawnFerry(['serve', '--config', configFile], { FERRY_API_KEY: KEY });
    expect(await ferry.exited).toBe(1);
    const output = ferry.output().trim();
    expect(output.split('\n')).toHaveLength(1);
    expect(output).toMatch(
      new RegExp(`^ferry: INVALID_CONFIG: plugin module ${join(dir, 'plugins', 'missing.mjs')}: cannot be imported: .*missing\\.mjs.* \\(at plugins\\[1\\] in ${configFile}\\)$`),
    );
  });

  it('reports a module that throws, exports no plugin, a bad definition or a taken name, at its entry', async () => {
    const at = async (module: string) => {
      const { config } = await loadConfig({ file: await write(`c-${module}.json`, JSON.stringify({ plugins: ['./plugins/pipes.mjs', `./plugins/${module}.mjs`] })), env: {} });
      return failure(configuredPlugins(config));
    };
    expect(await at('throws')).toEqual({ code: 'INVALID_CONFIG', path: 'plugins[1]', message: `plugin module ${join(dir, 'plugins', 'throws.mjs')}: cannot be imported: no licence key` });
    expect(await at('not-a-plugin')).toMatchObject({ code: 'INVALID_CONFIG', path: 'plugins[1]', message: expect.stringContaining('not-a-plugin.mjs: exports no plugin definition') });
    expect(await at('bad-kind')).toMatchObject({
      code: 'INVALID_CONFIG',
      path: 'plugins[1]',
      message: expect.stringContaining('bad-kind.mjs: export kafkaSink has kind "sink"; a plugin kind is one of source, format, store, notifier, jobs'),
    });
    expect(await at('second-csv')).toMatchObject({
      code: 'INVALID_CONFIG',
      path: 'plugins[1]',
      message: expect.stringContaining('export default[0] is the format plugin "csv", and Ferry already has a format plugin of that name'),
    });
  });

  it('registers nothing extra without a plugins field, and the built-ins stay lazy', async () => {
    const registry = await configuredPlugins({ plugins: [] });
    expect(registry.names('format')).toEqual(builtInPlugins().names('format'));
  });
});
