#!/usr/bin/env node
/**
 * Mutation testing for one Ferry package: `npm run test:mutation -- <scope> [--force] [--ignore-static]
 * [--concurrency N] [--mutate <glob>]` (`--mutate` narrows the scope's files, e.g. to one
 * file). Scopes are in scopes.mjs. Runs are incremental: results are kept in
 * reports/mutation/<scope>/incremental.json and only mutants in changed code, or covered by
 * changed tests, run again (`--force` reruns all). Reports: reports/mutation/<scope>/index.html
 * and mutation.json. See docs/testing.md.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scopes } from './scopes.mjs';

const args = process.argv.slice(2);
const valueOf = (f) => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);
const narrowed = valueOf('--mutate');
const values = new Set([valueOf('--concurrency'), narrowed]);
const name = args.find((a) => !a.startsWith('--') && !values.has(a));
const scope = scopes[name ?? ''];
if (!scope) {
  console.error(`usage: npm run test:mutation -- <${Object.keys(scopes).join('|')}> [--force] [--ignore-static] [--concurrency N] [--mutate <glob>]`);
  process.exit(2);
}
const flag = (f) => args.includes(f);
const concurrency = Number(valueOf('--concurrency') ?? 2);
const reports = `reports/mutation/${name}`;

// StrykerJS 10 refuses Node.js < 22 in its command line entry only; its engine runs on 20.19 (the
// project's minimum, and what CI has). Loading the Stryker class directly skips that guard.
async function loadStryker() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) return (await import('@stryker-mutator/core')).Stryker;
  const core = dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json'));
  console.warn(`Node.js ${process.versions.node}: StrykerJS 10 asks for 22+; running its engine directly`);
  return (await import(pathToFileURL(join(core, 'dist/src/stryker.js')).href)).Stryker;
}

process.env.FERRY_MUTATION_SCOPE = name;
const Stryker = await loadStryker();
const options = {
  testRunner: 'vitest',
  vitest: { configFile: 'tools/mutation/vitest.config.mjs', related: false, pool: 'forks' },
  // No type-checker plugin: it re-checks the whole workspace program per batch of mutants, which a
  // 2-core machine cannot afford next to the runners. A mutant that breaks types but still runs is
  // judged by the tests like any other (docs/testing.md).
  checkers: [],
  // Per test unless the scope says otherwise (see scopes.mjs: server-routes).
  coverageAnalysis: scope.coverageAnalysis ?? 'perTest',
  // Static mutants (module-level constants) rerun every test of the scope: most of a run's time.
  ignoreStatic: flag('--ignore-static'),
  mutate: narrowed ? [narrowed, ...scope.mutate.filter((m) => m.startsWith('!'))] : scope.mutate,
  // A 2-core machine: one test runner per core.
  concurrency,
  incremental: true,
  incrementalFile: `${reports}/incremental.json`,
  force: flag('--force'),
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${reports}/index.html` },
  jsonReporter: { fileName: `${reports}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false },
  // Generated or local state that is never part of a test's input.
  ignorePatterns: ['.ferry', 'tmp', 'coverage', '.nx', 'reports', '.git'],
  // The machine is shared: a mutant gets generous slack before it counts as a timeout.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 15,
  // Inside tmp/, which git, eslint and nx already ignore.
  tempDirName: 'tmp/stryker',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};

const results = await new Stryker(options).runMutationTest();
const count = (status) => results.filter((r) => r.status === status).length;
console.log(`${name}: ${count('Killed')} killed, ${count('Survived')} survived, ${count('NoCoverage')} no coverage, ${count('Timeout')} timeouts, ${count('RuntimeError') + count('CompileError')} errors, ${count('Ignored')} ignored`);
