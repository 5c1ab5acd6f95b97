import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FerryError, formatPath } from './errors.js';
import { silentLogger } from './logger.js';
import { PLUGIN_KINDS, PLUGIN_NAME, PluginRegistry, definePlugin, pluginDefinitionProblem, type LazyPlugin, type PluginDefinition } from './plugins.js';
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

describe('plugin definitions: every rule', () => {
  const valid = format('tsv');

  it('lists the kinds in slot order and bounds names to 64 characters', () => {
    expect(PLUGIN_KINDS).toEqual(['source', 'format', 'store', 'notifier', 'jobs']);
    for (const name of ['a', 'csv', 'x-1_y', `a${'b'.repeat(63)}`]) expect(PLUGIN_NAME.test(name)).toBe(true);
    for (const name of ['', '1csv', '-csv', 'Csv', 'cs v', 'csv!', `a${'b'.repeat(64)}`]) expect(PLUGIN_NAME.test(name)).toBe(false);
  });

  it.each([
    ['null', null, 'is not an object'],
    ['a kind that is not text', { ...valid, kind: 1 }, 'has kind 1; a plugin kind is one of source, format, store, notifier, jobs'],
    ['no kind', { ...valid, kind: undefined }, 'has kind undefined; a plugin kind is one of source, format, store, notifier, jobs'],
    ['a name that is not text', { ...valid, name: 7 }, 'has name 7; a plugin name is lower case letters, digits, "-" and "_", starting with a letter (at most 64)'],
    ['a 65-character name', { ...valid, name: `a${'b'.repeat(64)}` }, `has name "a${'b'.repeat(64)}"; a plugin name is lower case letters, digits, "-" and "_", starting with a letter (at most 64)`],
    ['null options', { ...valid, options: null }, 'has no zod schema as `options` (use zod 4: `z.strictObject({...})`)'],
    ['no options', { ...valid, options: undefined }, 'has no zod schema as `options` (use zod 4: `z.strictObject({...})`)'],
    ['options with a zod 4 marker but no safeParse', { ...valid, options: { _zod: {} } }, 'has no zod schema as `options` (use zod 4: `z.strictObject({...})`)'],
    ['null capabilities', { ...valid, capabilities: null }, 'has no `capabilities` object of true/false flags'],
    ['no capabilities', { ...valid, capabilities: undefined }, 'has no `capabilities` object of true/false flags'],
    ['one capability that is not a flag', { ...valid, capabilities: { streaming: true, ranges: 1 } }, 'has no `capabilities` object of true/false flags'],
    ['a create that is not a function', { ...valid, create: {} }, 'has no `create(options, ctx)` function'],
    ['a migrate that is not a function', { ...valid, migrate: null }, 'has a `migrate` that is not a function'],
    ['a description that is not text', { ...valid, description: 1 }, 'has a `description` that is not a string'],
  ])('names the problem with %s exactly', (_what, value, problem) => {
    expect(pluginDefinitionProblem(value)).toBe(problem);
  });

  it('accepts no capabilities at all, and every kind', () => {
    expect(pluginDefinitionProblem({ ...valid, capabilities: {} })).toBeNull();
    for (const kind of PLUGIN_KINDS) expect(pluginDefinitionProblem({ ...valid, kind })).toBeNull();
  });

  it('register names the refused definition, even one that is not an object', () => {
    expect(() => new PluginRegistry().register({ ...valid, capabilities: { a: 'b' } } as unknown as PluginDefinition)).toThrow(
      expect.objectContaining({ code: 'INTERNAL', plugin: 'format:tsv', message: 'plugin definition format:tsv has no `capabilities` object of true/false flags' }),
    );
    expect(() => new PluginRegistry().register(null as unknown as PluginDefinition)).toThrow(
      expect.objectContaining({ code: 'INTERNAL', plugin: 'undefined:undefined', message: 'plugin definition undefined:undefined is not an object' }),
    );
  });

  it('registerLazy names the entry it refuses', () => {
    const refused = (entry: unknown) => () => new PluginRegistry().registerLazy(entry as LazyPlugin);
    expect(refused({ kind: 'sink', name: 'kafka', load: async () => format('kafka') })).toThrow(
      expect.objectContaining({ code: 'INTERNAL', plugin: 'sink:kafka', message: 'lazy plugin sink:kafka needs a known kind, a plugin name and a load function' }),
    );
    expect(refused({ kind: 'format', name: 'xlsx', load: 'xlsx.js' })).toThrow(expect.objectContaining({ plugin: 'format:xlsx', code: 'INTERNAL' }));
    expect(refused({ kind: 'format', name: 'X', load: async () => format('x') })).toThrow(expect.objectContaining({ plugin: 'format:X', code: 'INTERNAL' }));
  });

  it('says which plugin is registered twice', () => {
    expect(() => new PluginRegistry().register(format('csv'), format('csv'))).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_PLUGIN', status: 500, plugin: 'format:csv', message: 'plugin format:csv is registered twice' }),
    );
    // The same name under another kind is another plugin.
    const registry = new PluginRegistry().register(format('csv'), { ...format('csv'), kind: 'store' } as unknown as PluginDefinition);
    expect([registry.names('format'), registry.names('store'), registry.names('jobs')]).toEqual([['csv'], ['csv'], []]);
  });
});

describe('plugin registry: creating and migrating', () => {
  it('creates with the slot’s options parsed (defaults when none are given) and the context', async () => {
    const seen: unknown[] = [];
    const def = definePlugin({
      kind: 'format',
      name: 'tsv',
      options: z.strictObject({ delimiter: z.string().default('\t') }),
      capabilities: {},
      create: (options, context) => {
        seen.push(options, context);
        return format('tsv').create({ delimiter: options.delimiter }, context) as FormatWriter;
      },
    });
    const registry = new PluginRegistry().register(def);
    expect((await registry.get('format', 'tsv'))).toBe(def);
    expect((await registry.create('format', { use: 'tsv' }, ctx)).extension).toBe('tab');
    expect(seen).toEqual([{ delimiter: '\t' }, ctx]);
  });

  it('reports a missing plugin and bad options at the kind by default', async () => {
    const registry = new PluginRegistry().register(format('csv'));
    expect(await failure(registry.create('store', { use: 'local' }, ctx))).toEqual({
      code: 'PLUGIN_NOT_FOUND',
      path: 'store.use',
      message: 'no store plugin named "local" (known: none)',
    });
    expect(await failure(registry.create('format', { use: 'csv', options: { delimiter: '||' } }, ctx))).toMatchObject({
      code: 'INVALID_OPTIONS',
      path: 'format.options.delimiter',
      plugin: 'format:csv',
    });
  });

  it('runs a plugin’s migrations with its parsed options, and reports nothing for one without any', async () => {
    const calls: unknown[] = [];
    const jobs = definePlugin({
      kind: 'jobs',
      name: 'sqlite',
      options: z.strictObject({ file: z.string().default('jobs.db') }),
      capabilities: {},
      create: () => {
        throw new Error('migrate must not open the store for work');
      },
      migrate: async (options, context) => {
        calls.push(options, context);
        return { from: 3, to: 5 };
      },
    });
    const registry = new PluginRegistry().register(jobs, format('csv'));
    expect(await registry.migrate('jobs', { use: 'sqlite' }, ctx)).toEqual({ from: 3, to: 5 });
    expect(calls).toEqual([{ file: 'jobs.db' }, ctx]);
    expect(await registry.migrate('format', { use: 'csv' }, ctx)).toBeNull();
    expect(await failure(registry.migrate('jobs', { use: 'sqlite', options: { file: 1 } }, ctx, ['jobs']))).toMatchObject({ code: 'INVALID_OPTIONS', path: 'jobs.options.file', plugin: 'jobs:sqlite' });
    expect(await failure(registry.migrate('jobs', { use: 'postgres' }, ctx))).toMatchObject({ code: 'PLUGIN_NOT_FOUND', path: 'jobs.use' });
  });

  it('imports a lazy module once for sequential uses too', async () => {
    const tsv = lazy('tsv');
    const registry = new PluginRegistry().registerLazy(tsv);
    await registry.create('format', { use: 'tsv' }, ctx);
    await registry.create('format', { use: 'tsv' }, ctx);
    expect(await registry.get('format', 'tsv')).toBe(await registry.get('format', 'tsv'));
    expect(tsv.loads).toBe(1);
  });

  it('keeps the import failure as the cause, and reports a thrown non-error as text', async () => {
    const original = new Error('boom');
    const registry = new PluginRegistry().registerLazy(
      lazy('tsv', async () => {
        throw original;
      }),
      lazy('ods', async () => {
        throw 'not an Error';
      }),
    );
    const err = await registry.create('format', { use: 'tsv' }, ctx, ['formats', 'tsv']).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).cause).toBe(original);
    expect(await failure(registry.create('format', { use: 'ods' }, ctx))).toEqual({
      code: 'INTERNAL',
      path: 'format.use',
      plugin: 'format:ods',
      message: 'the format plugin "ods" could not be loaded: not an Error',
    });
  });

  it('names a module that gives something other than a plugin', async () => {
    const registry = new PluginRegistry().registerLazy(lazy('ods', async () => ({ kind: 'format', name: 'ods' })), lazy('xls', async () => ({ ...format('xls'), kind: 'store' })));
    expect(await failure(registry.create('format', { use: 'ods' }, ctx, ['formats', 'ods']))).toEqual({
      code: 'INTERNAL',
      path: 'formats.ods.use',
      plugin: 'format:ods',
      message: 'the module of plugin format:ods gave a definition that has no zod schema as `options` (use zod 4: `z.strictObject({...})`)',
    });
    expect((await failure(registry.create('format', { use: 'xls' }, ctx))).message).toBe('the module of plugin format:xls gave the definition of store:xls');
  });
});
