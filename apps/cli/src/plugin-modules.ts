import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FerryError, pluginDefinitionProblem, type PluginDefinition, type PluginRegistry } from '@ferry/core';

/**
 * Where the module a config's `plugins` entry names lives, as an absolute path when it can be found:
 * a path (`./`, `../`, absolute, `file:`) is relative to the config file's folder, like every other
 * path in the file; a package name is looked up from that folder, then from the working directory.
 * A package found in neither is left as written and imported from Ferry's own install.
 *
 * Package lookup is Node's `require.resolve`, so a package's `exports` needs a `default` (or
 * `require`/`node`) entry, as Ferry's own packages have; an `import`-only map is not found this way.
 */
export function locatePluginModule(specifier: string, base: string, cwd = process.cwd()): string {
  if (specifier.startsWith('file:')) return fileURLToPath(specifier);
  if (isAbsolute(specifier) || specifier.startsWith('./') || specifier.startsWith('../')) return resolve(base, specifier);
  for (const from of new Set([base, cwd])) {
    try {
      return createRequire(join(from, 'ferry.config.json')).resolve(specifier);
    } catch {
      // Not installed there: try the next place.
    }
  }
  return specifier;
}

/** An export that means to be a plugin definition: checked in full, an error if it is not one. */
function looksLikePlugin(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'kind' in value && 'create' in value;
}

/**
 * The plugin definitions a module exports: every named export that is one, and the default export
 * when it is one or an array of them (the same object exported twice counts once). Other named
 * exports (helpers, schemas, classes) are left alone.
 */
function definitionsOf(module: Record<string, unknown>, problem: (message: string) => FerryError): Array<{ exportName: string; def: PluginDefinition }> {
  const found = new Map<unknown, string>();
  const check = (value: unknown, exportName: string) => {
    const why = pluginDefinitionProblem(value);
    if (why) throw problem(`export ${exportName} ${why}`);
    if (!found.has(value)) found.set(value, exportName);
  };
  for (const [exportName, value] of Object.entries(module)) {
    if (exportName === 'default' && Array.isArray(value)) value.forEach((item, i) => check(item, `default[${i}]`));
    else if (looksLikePlugin(value)) check(value, exportName);
  }
  return [...found].map(([def, exportName]) => ({ exportName, def: def as PluginDefinition }));
}

/**
 * Import the config's plugin modules (`plugins`, already located by `locatePluginModule`) and
 * register what they export. Any failure is one INVALID_CONFIG line at `plugins[i]` naming the
 * module: the operator's to fix, so no stack trace.
 */
export async function registerPluginModules(registry: PluginRegistry, modules: readonly string[]): Promise<PluginRegistry> {
  for (const [i, module] of modules.entries()) {
    const problem = (message: string, cause?: unknown) =>
      new FerryError('INVALID_CONFIG', `plugin module ${module}: ${message}`, { path: ['plugins', i], ...(cause === undefined ? {} : { cause }) });
    let exports: Record<string, unknown>;
    try {
      exports = (await import(isAbsolute(module) ? pathToFileURL(module).href : module)) as Record<string, unknown>;
    } catch (err) {
      // The first line: the rest of an import error is a stack or a code frame.
      throw problem(`cannot be imported: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`, err);
    }
    const definitions = definitionsOf(exports, problem);
    if (definitions.length === 0) {
      throw problem('exports no plugin definition (expected named exports made with definePlugin, or a default export that is an array of them)');
    }
    for (const { exportName, def } of definitions) {
      if (registry.has(def.kind, def.name)) {
        throw problem(`export ${exportName} is the ${def.kind} plugin "${def.name}", and Ferry already has a ${def.kind} plugin of that name (built in or from an earlier module)`);
      }
      registry.register(def);
    }
  }
  return registry;
}
