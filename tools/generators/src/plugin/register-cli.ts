import { updateJson, type Tree } from '@nx/devkit';

export const CLI_PLUGINS = 'apps/cli/src/plugins.ts';
export const CLI_PACKAGE = 'apps/cli/package.json';
const LIST = 'export const BUILT_IN_PLUGINS';

/**
 * Add the plugin to the CLI: a lazy entry at the end of `BUILT_IN_PLUGINS` in apps/cli/src/plugins.ts
 * (its module is imported only when a config slot uses it) and a dependency of @ferry/cli.
 */
export function registerInCli(tree: Tree, plugin: { kind: string; name: string; packageName: string; exportName: string; version: string }): void {
  const source = tree.read(CLI_PLUGINS, 'utf-8');
  if (source === null) throw new Error(`${CLI_PLUGINS} not found: run the generator at the root of the Ferry workspace`);
  const start = source.indexOf(LIST);
  const end = start < 0 ? -1 : source.indexOf('\n];', start);
  if (end < 0) throw new Error(`${CLI_PLUGINS} has no "${LIST}: ... = [ ... ];" list to add the plugin to`);
  if (new RegExp(`kind: '${plugin.kind}', name: '${plugin.name}'`).test(source.slice(start, end))) {
    throw new Error(`${CLI_PLUGINS} already lists a ${plugin.kind} plugin named "${plugin.name}"`);
  }
  const entry = `  { kind: '${plugin.kind}', name: '${plugin.name}', load: () => import('${plugin.packageName}').then((m) => m.${plugin.exportName}) },`;
  tree.write(CLI_PLUGINS, `${source.slice(0, end)}\n${entry}${source.slice(end)}`);
  updateJson<{ dependencies?: Record<string, string> }>(tree, CLI_PACKAGE, (pkg) => {
    const dependencies = { ...pkg.dependencies, [plugin.packageName]: plugin.version };
    // Kept in alphabetical order, as npm writes them.
    pkg.dependencies = Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return pkg;
  });
}
