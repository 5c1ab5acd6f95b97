import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FerryError, formatPath } from './errors.js';
import { silentLogger } from './logger.js';
import { PluginRegistry, definePlugin, pluginDefinitionProblem, type LazyPlugin, type PluginDefinition } from './plugins.js';
import type { FormatWriter } from './contracts.js';

const ctx = { logger: silentLogger, dataDir: '/tmp' };

function format(name: string): PluginDefinition<'format'> {
  return definePlugin({
    kind: 'format',
    name,
    options: z.strictObject({ delimiter: z.string().length(1).default(',') }),
    capabilities: { streaming: true },
    create: (options): FormatWriter => ({
      name,
      mediaType: `text/x-${name}`,
      extension: options.delimiter === '\t' ? 'tab' : name,
      compressible: true,
      write: async function* () {},
    }),
  });
}

/** A lazy entry that counts how often its module was "imported". */
function lazy(name: string, load: () => Promise<unknown> = async () => format(name)): LazyPlugin & { loads: number } {
  const entry = {
    kind: 'format' as const,
    name,
    loads: 0,
    load: async () => {
      entry.loads++;
      return (await load()) as PluginDefinition<'format'>;
    },
  };
  return entry;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; path?: string; plugin?: string }> {
  const err = await p.then(() => null, (e: unknown) => e);
  if (!(err instanceof FerryError)) throw new Error(`expected a FerryError, got ${String(err)}`);
  return { code: err.code, message: err.message, ...(err.path ? { path: formatPath(err.path) } : {}), ...(err.plugin ? { plugin: err.plugin } : {}) };
}

describe('plugin registry: lazy plugins', () => {
  it('lists lazy plugins and names them in PLUGIN_NOT_FOUND without importing any', async () => {
    const tsv = lazy('tsv');
    const xlsx = lazy('xlsx');
    const registry = new PluginRegistry().register(format('csv')).registerLazy(tsv, xlsx);
    expect(registry.names('format')).toEqual(['csv', 'tsv', 'xlsx']);
    expect(registry.has('format', 'tsv')).toBe(true);
    expect(registry.has('store', 'tsv')).toBe(false);
    expect(await failure(registry.create('format', { use: 'ods' }, ctx, ['formats', 'ods']))).toMatchObject({
      code: 'PLUGIN_NOT_FOUND',
      path: 'formats.ods.use',
      message: 'no format plugin named "ods" (known: csv, tsv, xlsx)',
    });
    expect([tsv.loads, xlsx.loads]).toEqual([0, 0]);
  });

  it('imports a lazy plugin once, when a slot uses it, and validates the slot with its schema', async () => {
    const tsv = lazy('tsv');
    const xlsx = lazy('xlsx');
    const registry = new PluginRegistry().registerLazy(tsv, xlsx);
    const [a, b] = await Promise.all([
      registry.create('format', { use: 'tsv', options: { delimiter: '\t' } }, ctx, ['formats', 'tsv']),
      registry.create('format', { use: 'tsv' }, ctx, ['formats', 'other']),
    ]);
    expect([a.extension, b.extension]).toEqual(['tab', 'tsv']);
    expect(tsv.loads).toBe(1);
    expect(xlsx.loads).toBe(0);
    expect(await failure(registry.create('format', { use: 'tsv', options: { delimiter: ';;' } }, ctx, ['formats', 'tsv']))).toMatchObject({
      code: 'INVALID_OPTIONS',
      path: 'formats.tsv.options.delimiter',
      plugin: 'format:tsv',
    });
    expect(tsv.loads).toBe(1);
    expect((await registry.get('format', 'xlsx'))?.name).toBe('xlsx');
    expect(xlsx.loads).toBe(1);
    expect(await registry.get('format', 'ods')).toBeUndefined();
  });

  it('reports a module that fails to import at the slot, in one line, and tries again next time', async () => {
    let attempt = 0;
    const broken = lazy('tsv', async () => {
      if (++attempt === 1) throw new Error("Cannot find package '@acme/tsv-sdk'\n    at resolve (node:internal/modules/esm/resolve:1)");
      return format('tsv');
    });
    const registry = new PluginRegistry().registerLazy(broken);
    expect(await failure(registry.create('format', { use: 'tsv' }, ctx, ['formats', 'tsv']))).toEqual({
      code: 'INTERNAL',
      path: 'formats.tsv.use',
      plugin: 'format:tsv',
      message: `the format plugin "tsv" could not be loaded: Cannot find package '@acme/tsv-sdk'`,
    });
    expect((await registry.create('format', { use: 'tsv' }, ctx)).name).toBe('tsv');
    expect(broken.loads).toBe(2);
  });

  it('refuses a module that gives another plugin, or something that is not a plugin', async () => {
    const registry = new PluginRegistry().registerLazy(
      lazy('tsv', async () => format('csv')),
      lazy('ods', async () => ({ kind: 'format', name: 'ods' })),
    );
    expect(await failure(registry.create('format', { use: 'tsv' }, ctx))).toMatchObject({ code: 'INTERNAL', message: 'the module of plugin format:tsv gave the definition of format:csv' });
    expect((await failure(registry.create('format', { use: 'ods' }, ctx))).message).toContain('has no zod schema as `options`');
  });

  it('keeps one name space for eager and lazy plugins', () => {
    expect(() => new PluginRegistry().register(format('csv')).registerLazy(lazy('csv'))).toThrow(expect.objectContaining({ code: 'DUPLICATE_PLUGIN' }));
    expect(() => new PluginRegistry().registerLazy(lazy('csv'), lazy('csv'))).toThrow(expect.objectContaining({ code: 'DUPLICATE_PLUGIN' }));
    expect(() => new PluginRegistry().registerLazy({ kind: 'sink' as 'format', name: 'kafka', load: async () => format('kafka') })).toThrow(/known kind/);
    expect(() => new PluginRegistry().registerLazy(lazy('Bad Name'))).toThrow(/plugin name/);
  });
});

describe('plugin definitions', () => {
  const valid = format('tsv');

  it('accepts what definePlugin makes', () => {
    expect(pluginDefinitionProblem(valid)).toBeNull();
    expect(pluginDefinitionProblem({ ...valid, migrate: async () => ({ from: 0, to: 1 }), description: 'tab-separated' })).toBeNull();
  });

  it.each([
    ['not an object', 'tsv', 'is not an object'],
    ['an unknown kind', { ...valid, kind: 'sink' }, 'has kind "sink"; a plugin kind is one of source, format, store, notifier, jobs'],
    ['a bad name', { ...valid, name: 'My Format' }, 'has name "My Format"'],
    ['no name', { ...valid, name: undefined }, 'has name undefined'],
    ['options that are not a schema', { ...valid, options: { delimiter: ',' } }, 'has no zod schema as `options`'],
    ['options from something other than zod 4', { ...valid, options: { safeParse: () => ({ success: true }) } }, 'has no zod schema as `options`'],
    ['capabilities that are not flags', { ...valid, capabilities: { streaming: 'yes' } }, 'has no `capabilities` object'],
    ['no create', { ...valid, create: undefined }, 'has no `create(options, ctx)` function'],
    ['a migrate that is not a function', { ...valid, migrate: 'v2' }, 'has a `migrate` that is not a function'],
  ])('refuses %s', (_what, value, problem) => {
    expect(pluginDefinitionProblem(value)).toContain(problem);
  });

  it('register refuses an invalid definition, naming it', () => {
    expect(() => new PluginRegistry().register({ ...valid, options: {} } as unknown as PluginDefinition)).toThrow('plugin definition format:tsv has no zod schema as `options`');
  });
});
