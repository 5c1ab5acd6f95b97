import type { z } from 'zod';
import { FerryError } from './errors.js';
import { parseOrThrow } from './validate.js';
import type { QuerySource, FormatWriter, ObjectStore, Notifier } from './contracts.js';
import type { JobStore } from './job-store.js';
import type { Logger } from './logger.js';

/** The kinds of plugin a config slot can name, in the order a config lists its slots. */
export const PLUGIN_KINDS = ['source', 'format', 'store', 'notifier', 'jobs'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** How a plugin may be named: what a config slot's `use` holds. */
export const PLUGIN_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export interface PluginInstances {
  source: QuerySource;
  format: FormatWriter;
  store: ObjectStore;
  notifier: Notifier;
  jobs: JobStore;
}

export interface PluginContext {
  logger: Logger;
  /** Ferry's data directory; embedded plugins keep their files under it. */
  dataDir: string;
}

/** What a plugin package exports: a plain, typed factory. */
export interface PluginDefinition<K extends PluginKind = PluginKind, S extends z.ZodType = z.ZodType> {
  readonly kind: K;
  readonly name: string;
  readonly description?: string;
  readonly options: S;
  readonly capabilities: Readonly<Record<string, boolean>>;
  create(options: z.output<S>, ctx: PluginContext): PluginInstances[K] | Promise<PluginInstances[K]>;
  /**
   * For plugins with a schema of their own (job stores): bring it up to date without opening the
   * plugin for work, and report the versions before and after (`ferry migrate`).
   */
  migrate?(options: z.output<S>, ctx: PluginContext): Promise<{ from: number; to: number }>;
}

export function definePlugin<K extends PluginKind, S extends z.ZodType>(def: PluginDefinition<K, S>): PluginDefinition<K, S> {
  return def;
}

/**
 * A plugin known by kind and name whose module is imported only when a config slot uses it, so an
 * install pays start-up time and memory only for the SDKs it configures.
 */
export interface LazyPlugin<K extends PluginKind = PluginKind> {
  readonly kind: K;
  readonly name: string;
  load(): Promise<PluginDefinition<K>>;
}

/**
 * What is wrong with a value offered as a plugin definition, or null when it is one. Checked where
 * definitions enter a registry, because third-party modules reach it without a type checker. The
 * options must be a zod 4 schema: Ferry validates slots with it and reports zod's issue paths.
 */
export function pluginDefinitionProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const def = value as Record<string, unknown>;
  if (typeof def.kind !== 'string' || !(PLUGIN_KINDS as readonly string[]).includes(def.kind)) {
    return `has kind ${JSON.stringify(def.kind)}; a plugin kind is one of ${PLUGIN_KINDS.join(', ')}`;
  }
  if (typeof def.name !== 'string' || !PLUGIN_NAME.test(def.name)) {
    return `has name ${JSON.stringify(def.name)}; a plugin name is lower case letters, digits, "-" and "_", starting with a letter (at most 64)`;
  }
  const options = def.options as { safeParse?: unknown; _zod?: unknown } | null | undefined;
  if (typeof options !== 'object' || options === null || typeof options.safeParse !== 'function' || typeof options._zod !== 'object') {
    return 'has no zod schema as `options` (use zod 4: `z.strictObject({...})`)';
  }
  const capabilities = def.capabilities;
  if (typeof capabilities !== 'object' || capabilities === null || Object.values(capabilities).some((v) => typeof v !== 'boolean')) {
    return 'has no `capabilities` object of true/false flags';
  }
  if (typeof def.create !== 'function') return 'has no `create(options, ctx)` function';
  if (def.migrate !== undefined && typeof def.migrate !== 'function') return 'has a `migrate` that is not a function';
  if (def.description !== undefined && typeof def.description !== 'string') return 'has a `description` that is not a string';
  return null;
}

/** A config slot: `{"use": "<plugin name>", "options": {...}}`. */
export interface PluginSlot {
  use: string;
  options?: unknown;
}

interface Entry {
  kind: PluginKind;
  name: string;
  definition?: PluginDefinition;
  load?: () => Promise<PluginDefinition>;
  loading?: Promise<PluginDefinition>;
}

/**
 * The plugins an install knows, by kind and name. Definitions registered eagerly (`register`) are
 * there at once; lazy ones (`registerLazy`) are imported the first time a slot resolves them, so
 * `names` and a PLUGIN_NOT_FOUND message list every plugin without importing any.
 */
export class PluginRegistry {
  readonly #entries = new Map<string, Entry>();

  register(...defs: PluginDefinition[]): this {
    for (const def of defs) {
      const problem = pluginDefinitionProblem(def);
      const id = `${String(def?.kind)}:${String(def?.name)}`;
      if (problem) throw new FerryError('INTERNAL', `plugin definition ${id} ${problem}`, { plugin: id });
      this.#add({ kind: def.kind, name: def.name, definition: def });
    }
    return this;
  }

  /** Plugins whose module is imported only when a slot uses them (see `LazyPlugin`). */
  registerLazy(...plugins: LazyPlugin[]): this {
    for (const { kind, name, load } of plugins) {
      if (!(PLUGIN_KINDS as readonly string[]).includes(kind) || !PLUGIN_NAME.test(name) || typeof load !== 'function') {
        throw new FerryError('INTERNAL', `lazy plugin ${kind}:${name} needs a known kind, a plugin name and a load function`, { plugin: `${kind}:${name}` });
      }
      this.#add({ kind, name, load });
    }
    return this;
  }

  #add(entry: Entry): void {
    const id = `${entry.kind}:${entry.name}`;
    if (this.#entries.has(id)) throw new FerryError('DUPLICATE_PLUGIN', `plugin ${id} is registered twice`, { plugin: id });
    this.#entries.set(id, entry);
  }

  /** Whether a plugin of this kind and name is registered (nothing is imported). */
  has(kind: PluginKind, name: string): boolean {
    return this.#entries.has(`${kind}:${name}`);
  }

  /** The definition, importing a lazy plugin's module the first time; undefined when none is registered. */
  async get<K extends PluginKind>(kind: K, name: string): Promise<PluginDefinition<K> | undefined> {
    const entry = this.#entries.get(`${kind}:${name}`);
    return entry ? ((await this.#definition(entry)) as PluginDefinition<K>) : undefined;
  }

  names(kind: PluginKind): string[] {
    return [...this.#entries.values()].filter((e) => e.kind === kind).map((e) => e.name);
  }

  /** Validate a slot's options with the plugin's own schema, then create it. `path` locates the slot in the config. */
  async create<K extends PluginKind>(
    kind: K,
    slot: PluginSlot,
    ctx: PluginContext,
    path: ReadonlyArray<string | number> = [kind],
  ): Promise<PluginInstances[K]> {
    const { def, options } = await this.#resolve(kind, slot, path);
    return def.create(options, ctx);
  }

  /** Run a slot's schema migrations (see `PluginDefinition.migrate`); a plugin without any reports nothing to do. */
  async migrate(kind: PluginKind, slot: PluginSlot, ctx: PluginContext, path: ReadonlyArray<string | number> = [kind]): Promise<{ from: number; to: number } | null> {
    const { def, options } = await this.#resolve(kind, slot, path);
    return def.migrate ? def.migrate(options, ctx) : null;
  }

  async #definition(entry: Entry): Promise<PluginDefinition> {
    if (entry.definition) return entry.definition;
    entry.loading ??= this.#load(entry).finally(() => (entry.loading = undefined));
    return entry.loading;
  }

  async #load(entry: Entry): Promise<PluginDefinition> {
    const id = `${entry.kind}:${entry.name}`;
    let def: unknown;
    try {
      def = await entry.load!();
    } catch (err) {
      // The first line only: an import failure's message can run on with a stack of its own.
      const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      throw new FerryError('INTERNAL', `the ${entry.kind} plugin "${entry.name}" could not be loaded: ${reason}`, { plugin: id, cause: err });
    }
    const problem = pluginDefinitionProblem(def);
    if (problem) throw new FerryError('INTERNAL', `the module of plugin ${id} gave a definition that ${problem}`, { plugin: id });
    const loaded = def as PluginDefinition;
    if (loaded.kind !== entry.kind || loaded.name !== entry.name) {
      throw new FerryError('INTERNAL', `the module of plugin ${id} gave the definition of ${loaded.kind}:${loaded.name}`, { plugin: id });
    }
    entry.definition = loaded;
    return loaded;
  }

  async #resolve<K extends PluginKind>(kind: K, slot: PluginSlot, path: ReadonlyArray<string | number>): Promise<{ def: PluginDefinition<K>; options: unknown }> {
    const entry = this.#entries.get(`${kind}:${slot.use}`);
    if (!entry) {
      throw new FerryError('PLUGIN_NOT_FOUND', `no ${kind} plugin named "${slot.use}" (known: ${this.names(kind).join(', ') || 'none'})`, {
        path: [...path, 'use'],
      });
    }
    let def: PluginDefinition<K>;
    try {
      def = (await this.#definition(entry)) as PluginDefinition<K>;
    } catch (err) {
      if (err instanceof FerryError) throw new FerryError(err.code, err.message, { path: [...path, 'use'], plugin: err.plugin, cause: err.cause });
      throw err;
    }
    const options = parseOrThrow(def.options, slot.options ?? {}, {
      basePath: [...path, 'options'],
      code: 'INVALID_OPTIONS',
      plugin: `${kind}:${def.name}`,
    });
    return { def, options };
  }
}
