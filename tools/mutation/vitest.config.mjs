import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import rootConfig from '../../vitest.config.ts';
import { scopes } from './scopes.mjs';

/*
 * The vitest config Stryker's runner loads (tools/mutation/run.mjs points at it). It is the root
 * config with three changes, none of which touch a normal `npm test`:
 *
 * - the root is the Stryker sandbox (this file's copy lives there too);
 * - the workspace packages being mutated resolve to the sandbox's copy of their sources. Without
 *   this, `@ferry/engine` resolves through the symlinked node_modules to the untouched sources in
 *   the work tree and every mutant would survive;
 * - only the scope's tests run, without the sample-dataset global setup unless the scope asks.
 *
 * The CI shuffle (FERRY_TEST_SEED) and requireAssertions come over unchanged from the root config.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const scope = scopes[process.env.FERRY_MUTATION_SCOPE ?? ''];
if (!scope) throw new Error(`FERRY_MUTATION_SCOPE must name a scope of tools/mutation/scopes.mjs, got ${process.env.FERRY_MUTATION_SCOPE ?? 'nothing'}`);

/** `@ferry/x` and its subpaths -> the sandbox files their package.json exports name. */
function sandboxAliases(dir) {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  return Object.entries(manifest.exports ?? {})
    .map(([subpath, target]) => [subpath, typeof target === 'string' ? target : target['@ferry/source']])
    .filter(([, target]) => typeof target === 'string' && target.endsWith('.ts'))
    .map(([subpath, target]) => ({
      find: new RegExp(`^${(manifest.name + subpath.slice(1)).replace(/[/.]/g, '\\$&')}$`),
      replacement: join(root, dir, target),
    }));
}

export default defineConfig({
  ...rootConfig,
  root,
  resolve: { alias: scope.packages.flatMap(sandboxAliases) },
  test: {
    ...rootConfig.test,
    include: scope.tests,
    globalSetup: scope.globalSetup ? rootConfig.test.globalSetup : [],
    // Stryker's own JSON/HTML reports are the output; vitest's CI JSON report is not wanted here.
    reporters: ['default'],
  },
});
