import type { z } from 'zod';
import { FerryError } from './errors.js';
import { parseOrThrow } from './validate.js';
import type { QuerySource, FormatWriter, ObjectStore, Notifier } from './contracts.js';
import type { JobStore } from './job-store.js';
import type { Logger } from './logger.js';

export type PluginKind = 'source' | 'format' | 'store' | 'notifier' | 'jobs';

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

/** A config slot: `{"use": "<plugin name>", "options": {...}}`. */
export interface PluginSlot {
  use: string;
  options?: unknown;
}

export class PluginRegistry {
  readonly #defs = new Map<string, PluginDefinition>();

  register(...defs: PluginDefinition[]): this {
    for (const def of defs) {
      const id = `${def.kind}:${def.name}`;
      if (this.#defs.has(id)) throw new FerryError('DUPLICATE_PLUGIN', `plugin ${id} is registered twice`, { plugin: id });
      this.#defs.set(id, def);
    }
    return this;
  }

  get<K extends PluginKind>(kind: K, name: string): PluginDefinition<K> | undefined {
    return this.#defs.get(`${kind}:${name}`) as PluginDefinition<K> | undefined;
  }

  names(kind: PluginKind): string[] {
    return [...this.#defs.values()].filter((d) => d.kind === kind).map((d) => d.name);
  }

  /** Validate a slot's options with the plugin's own schema, then create it. `path` locates the slot in the config. */
  async create<K extends PluginKind>(
    kind: K,
    slot: PluginSlot,
    ctx: PluginContext,
    path: ReadonlyArray<string | number> = [kind],
  ): Promise<PluginInstances[K]> {
    const { def, options } = this.#resolve(kind, slot, path);
    return def.create(options, ctx);
  }

  /** Run a slot's schema migrations (see `PluginDefinition.migrate`); a plugin without any reports nothing to do. */
  async migrate(kind: PluginKind, slot: PluginSlot, ctx: PluginContext, path: ReadonlyArray<string | number> = [kind]): Promise<{ from: number; to: number } | null> {
    const { def, options } = this.#resolve(kind, slot, path);
    return def.migrate ? def.migrate(options, ctx) : null;
  }

  #resolve<K extends PluginKind>(kind: K, slot: PluginSlot, path: ReadonlyArray<string | number>): { def: PluginDefinition<K>; options: unknown } {
    const def = this.get(kind, slot.use);
    if (!def) {
      throw new FerryError('PLUGIN_NOT_FOUND', `no ${kind} plugin named "${slot.use}" (known: ${this.names(kind).join(', ') || 'none'})`, {
        path: [...path, 'use'],
      });
    }
    const options = parseOrThrow(def.options, slot.options ?? {}, {
      basePath: [...path, 'options'],
      code: 'INVALID_OPTIONS',
      plugin: `${kind}:${def.name}`,
    });
    return { def, options };
  }
}
