import { join } from 'node:path';
import { generateFiles, installPackagesTask, joinPathFragments, logger, names, readJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { registerInCli } from './register-cli.js';

export type PluginKind = 'store' | 'format';

export interface PluginGeneratorOptions {
  kind: PluginKind;
  name: string;
  description?: string;
  skipInstall?: boolean;
}

const KINDS: readonly PluginKind[] = ['store', 'format'];
const NAME = /^[a-z][a-z0-9-]{0,39}$/;
const DEFAULT_DESCRIPTION: Record<PluginKind, (name: string) => string> = {
  store: (name) => `Objects as files in a folder (the ${name} store scaffold)`,
  format: (name) => `Arrow IPC stream (the ${name} format scaffold, to be replaced by its own encoding)`,
};

/** Versions the new package depends on: the ones @ferry/core itself uses, so the workspace stays on one of each. */
function versions(tree: Tree): { ferry: string; zod: string; arrow: string } {
  const core = readJson<{ version: string; dependencies?: Record<string, string> }>(tree, 'packages/core/package.json');
  return {
    ferry: `^${core.version}`,
    zod: core.dependencies?.zod ?? '^4.1.0',
    arrow: core.dependencies?.['apache-arrow'] ?? '^21.1.0',
  };
}

/**
 * `nx g @ferry/generators:plugin --kind=<store|format> --name=<name>`: a plugin package at
 * packages/<kind>-<name> shaped like the built-in ones (package.json with the `@ferry/source`
 * exports condition, project.json tags, build config), with an options schema, a `definePlugin`
 * definition whose scaffold implementation passes its kind's conformance suite, a README and the
 * conformance test; registered as a lazy entry in the CLI's plugin list and as a CLI dependency.
 */
export default async function pluginGenerator(tree: Tree, options: PluginGeneratorOptions): Promise<GeneratorCallback | undefined> {
  if (!KINDS.includes(options.kind)) throw new Error(`--kind must be one of ${KINDS.join(', ')} (got "${options.kind}")`);
  if (!NAME.test(options.name)) throw new Error(`--name must be lower case letters, digits and "-", starting with a letter (got "${options.name}")`);
  const { kind, name } = options;
  const project = `${kind}-${name}`;
  const root = joinPathFragments('packages', project);
  if (tree.exists(root)) throw new Error(`${root} already exists`);
  const n = names(name);
  const exportName = `${n.propertyName}${kind === 'store' ? 'Store' : 'Format'}`;
  const description = options.description ?? DEFAULT_DESCRIPTION[kind](name);
  const substitutions = {
    ...n,
    kind,
    project,
    packageName: `@ferry/${project}`,
    exportName,
    description,
    descriptionLiteral: `'${description.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
    ...versions(tree),
    // Template files end in `__tmpl__`, so the workspace's TypeScript, lint and test globs skip them.
    tmpl: '',
  };
  const files = join(import.meta.dirname, 'files');
  generateFiles(tree, join(files, 'common'), root, substitutions);
  generateFiles(tree, join(files, kind), root, substitutions);
  registerInCli(tree, { kind, name, packageName: substitutions.packageName, exportName, version: substitutions.ferry });
  return () => {
    if (options.skipInstall) {
      logger.info(`Run npm install to link ${substitutions.packageName} into node_modules, then: npx vitest run ${root}`);
      return;
    }
    installPackagesTask(tree, true);
  };
}
