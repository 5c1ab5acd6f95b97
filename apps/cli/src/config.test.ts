import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FerryError, formatPath } from '@ferry/core';
import { loadConfig } from './config.js';
import { builtInPlugins } from './plugins.js';

const EXAMPLE = fileURLToPath(new URL('../../../ferry.config.example.json', import.meta.url));

async function failure(p: Promise<unknown>): Promise<{ code: string; path?: string }> {
  const err = await p.then(() => null, (e: unknown) => e);
  if (!(err instanceof FerryError)) throw new Error(`expected a FerryError, got ${String(err)}`);
  return { code: err.code, ...(err.path ? { path: formatPath(err.path) } : {}) };
}

describe('config file', () => {
  it('accepts the documented example, and every slot in it passes its plugin schema', async () => {
    const { config } = await loadConfig({ file: EXAMPLE, env: {} });
    expect(config.server.publicUrl).toBe('https://exports.example.com');
    expect(config.dataDir).toBe(join(EXAMPLE, '..', '.ferry'));
    const registry = builtInPlugins();
    const slots = [
      ['jobs', config.jobs],
      ['store', config.store],
      ['notifier', config.notifier],
      ...Object.values(config.sources).map((s) => ['source', s] as const),
      ...Object.values(config.formats).map((s) => ['format', s] as const),
      ...Object.values(config.sinks).map((s) => ['notifier', s] as const),
    ] as const;
    expect(Object.keys(config.sinks)).toEqual(['bus']);
    for (const [kind, slot] of slots) {
      const def = await registry.get(kind, slot.use);
      expect(def, `${kind}:${slot.use}`).toBeDefined();
      expect(def!.options.safeParse(slot.options ?? {}).success, `${kind}:${slot.use} options`).toBe(true);
    }
  });

  it('lets the environment override the file', async () => {
    const { config, apiKey } = await loadConfig({
      file: EXAMPLE,
      env: { FERRY_PORT: '9090', FERRY_HOST: '0.0.0.0', FERRY_WEBHOOK_ALLOW_CIDRS: '10.0.0.0/8, 192.168.1.0/24', FERRY_API_KEY: 'a-long-enough-key' },
    });
    expect(config.server).toMatchObject({ port: 9090, host: '0.0.0.0' });
    expect(config.notifier.options).toMatchObject({ allowCidrs: ['10.0.0.0/8', '192.168.1.0/24'] });
    expect(apiKey).toBe('a-long-enough-key');
  });

  it('stops start-up on a bad config with the exact path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-config-'));
    const write = async (body: unknown) => {
      const file = join(dir, `c${Math.random()}.json`);
      await writeFile(file, typeof body === 'string' ? body : JSON.stringify(body));
      return file;
    };
    expect(await failure(loadConfig({ file: await write({ server: { port: 'eighty' } }), env: {} }))).toEqual({ code: 'INVALID_CONFIG', path: 'server.port' });
    expect(await failure(loadConfig({ file: await write({ store: { use: 's3', option: {} } }), env: {} }))).toMatchObject({ code: 'INVALID_CONFIG', path: 'store' });
    expect(await failure(loadConfig({ file: await write({ datasets: [{ key: 'x', relation: { table: 't' }, columns: [{ name: 'a b', type: 'string', role: 'dimension' }] }] }), env: {} }))).toEqual({
      code: 'INVALID_CONFIG',
      path: 'datasets[0].columns[0].name',
    });
    expect(await failure(loadConfig({ file: await write('{ not json'), env: {} }))).toEqual({ code: 'INVALID_CONFIG' });
    expect(await failure(loadConfig({ file: join(dir, 'missing.json'), env: {} }))).toEqual({ code: 'INVALID_CONFIG' });
    expect(await failure(loadConfig({ env: { FERRY_PORT: 'x' } }))).toEqual({ code: 'INVALID_CONFIG', path: 'server.port' });
    expect(await failure(loadConfig({ env: { FERRY_API_KEY: 'short' } }))).toEqual({ code: 'INVALID_CONFIG' });
    // A plugin's own schema reports the full path into the slot.
    const err = await failure(builtInPlugins().create('store', { use: 's3', options: { bucket: 'my-bucket', region: 7 } }, { logger: console as never, dataDir: dir }, ['store']));
    expect(err).toEqual({ code: 'INVALID_OPTIONS', path: 'store.options.region' });
    expect(await failure(builtInPlugins().create('store', { use: 'azure' }, { logger: console as never, dataDir: dir }, ['store']))).toEqual({ code: 'PLUGIN_NOT_FOUND', path: 'store.use' });
  });
});
