import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const SDKS = ['@aws-sdk/*', '@google-cloud/*', '@nats-io/*', 'pg', 'pg-*', 'better-sqlite3', '@duckdb/*', 'fastify', '@fastify/*', 'undici', 'parquet*', '@dsnp/parquetjs', 'tsyringe'];

const boundaries = (engineMayUse, pluginsMayUse = ['type:core', 'type:lib', 'type:testing'], uiMayUse = ['type:lib'], alsoAllow = [], libsMayUse = ['type:core']) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    // The CLI imports built-in plugins lazily (apps/cli/src/plugins.ts) to keep start-up light; a
    // test or a benchmark importing the same package statically splits no bundle (there is none).
    checkDynamicDependenciesExceptions: ['@ferry/**'],
    // The cli composes the server and the worker into one process (`ferry serve`).
    allow: ['@ferry/server', '@ferry/worker', ...alsoAllow],
    depConstraints: [
      { sourceTag: 'type:core', onlyDependOnLibsWithTags: [], bannedExternalImports: SDKS },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: libsMayUse },
      { sourceTag: 'type:engine', onlyDependOnLibsWithTags: engineMayUse, bannedExternalImports: SDKS },
      { sourceTag: 'type:plugin', onlyDependOnLibsWithTags: pluginsMayUse },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:core'] },
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:engine', 'type:lib', 'type:plugin', 'type:app', 'type:testing'] },
      { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['*'] },
      // The dashboard runs in a browser: it uses the typed client, nothing of core or the engine.
      { sourceTag: 'type:ui', onlyDependOnLibsWithTags: uiMayUse },
    ],
  },
];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.ferry/**', '**/.nx/**', 'tmp/**', 'reports/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': boundaries(['type:core']),
    },
  },
  {
    // The conformance suites are for tests: a plugin's runtime code never imports them.
    files: ['packages/*/src/**/*.ts'],
    // test-support/ is test code too: every package's build leaves it out.
    ignores: ['**/*.test.ts', '**/test-support/**', 'packages/testing/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@ferry/testing', 'vitest'], message: '@ferry/testing and vitest are for tests only' }] }],
    },
  },
  {
    // Source tests compare pushdown output with the default writers' bytes (until pushdown is judged
    // by meaning); a source's own code never imports a format.
    files: ['packages/source-*/src/**/*.test.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['type:core'], ['type:core', 'type:lib', 'type:testing', 'type:plugin']) },
  },
  {
    // The dashboard's browser tests drive a real server, started as the cli's tests start one.
    files: ['packages/dashboard/src/**/*.test.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['type:core'], undefined, ['type:lib', 'type:core', 'type:testing'], ['../../../apps/cli/src/**']) },
  },
  {
    // Library tests may use the shared test support (service probes, waits, locks); their code may not.
    files: ['packages/client/src/**/*.test.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['type:core'], undefined, undefined, [], ['type:core', 'type:testing']) },
  },
  {
    // Engine tests run the rules against a real job store (and versions against the real snapshot
    // engine, a library); the engine's own code stays store-agnostic.
    files: ['packages/engine/src/**/*.test.ts', 'packages/engine/src/test-support/**'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['type:core', 'type:plugin', 'type:lib', 'type:testing']) },
  },
];
