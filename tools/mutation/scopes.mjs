/**
 * What each mutation scope mutates and which tests may kill its mutants. Kept apart from run.mjs
 * because the Stryker-only vitest config (vitest.config.mjs) reads it too, inside the sandbox.
 *
 * `packages` are the workspace packages whose sources are mutated: vitest resolves their names to
 * the sandbox copy (see vitest.config.mjs). `tests` are the test files run against the mutants:
 * the package's own tests, plus the few tests elsewhere that are the only ones exercising a part
 * of it. `globalSetup` is true where a test needs the generated sample dataset.
 */
const notTests = ['!**/*.test.ts', '!**/test-support/**', '!**/test-support.ts'];

export const scopes = {
  engine: {
    packages: ['packages/engine'],
    mutate: ['packages/engine/src/**/*.ts', ...notTests],
    tests: ['packages/engine/src/**/*.test.ts'],
  },
  core: {
    packages: ['packages/core'],
    mutate: ['packages/core/src/**/*.ts', ...notTests],
    tests: ['packages/core/src/**/*.test.ts'],
  },
  'notifier-webhook': {
    packages: ['packages/notifier-webhook'],
    mutate: ['packages/notifier-webhook/src/**/*.ts', ...notTests],
    tests: ['packages/notifier-webhook/src/**/*.test.ts'],
  },
  'jobs-sqlite': {
    packages: ['packages/jobs-sqlite'],
    mutate: ['packages/jobs-sqlite/src/**/*.ts', ...notTests],
    tests: ['packages/jobs-sqlite/src/**/*.test.ts'],
  },
  'jobs-postgres': {
    packages: ['packages/jobs-postgres'],
    mutate: ['packages/jobs-postgres/src/**/*.ts', ...notTests],
    tests: ['packages/jobs-postgres/src/**/*.test.ts'],
  },
  // The routes are tested end to end by apps/cli's tests; those that run the server in the test's
  // own process can kill their mutants (the ones that only spawn `ferry` cannot). The server's
  // wiring and log serializers are left out: every request reaches them, so each of their mutants
  // would rerun nearly every test (an estimated 1 h 20 min on two cores, against the routes' share).
  'server-routes': {
    packages: ['apps/server'],
    mutate: ['apps/server/src/routes/**/*.ts', ...notTests],
    tests: [
      'apps/server/src/**/*.test.ts',
      // Each mutant reruns these files, server start-up included: they call every route (the typed
      // client, validation, roles and keys, tenants, versions, webhooks, operations) and compare the
      // OpenAPI document the routes declare with the committed one, in a fraction of the time of
      // all in-process files (measured: all of them made 35 s a mutant, two hours for the scope).
      ...['api-hardening', 'client', 'roles', 'tenants', 'versions', 'webhooks', 'operations-routes', 'openapi', 'serve'].map((name) => `apps/cli/src/${name}.test.ts`),
    ],
    globalSetup: true,
    // These files start their server in beforeAll, so per-test coverage credits the routes'
    // registration and handlers to whichever test ran first: a mutant then runs only that test and
    // "survives" although the file's other tests kill it (checked by hand: docs/testing.md).
    // Every mutant runs every test of the scope instead.
    coverageAnalysis: 'all',
  },
};
