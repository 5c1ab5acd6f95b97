import { defineConfig } from 'vitest/config';

// Workspace packages that are also published (@ferry/client) point their `@ferry/source` export
// condition at their TypeScript sources; elsewhere the same names resolve to the built dist/.
// Vitest also hands these to its worker processes as Node `--conditions` flags, so no `module`
// here: Node would then load some dependencies' bundler-only builds (@aws-sdk's dist-es).
const conditions = ['@ferry/source', 'node'];

export default defineConfig({
  ssr: { resolve: { conditions } },
  // The global setup is loaded by Vitest's own environment, not ssr: it resolves workspace packages the same way.
  environments: { __vitest__: { resolve: { conditions } } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tools/*/src/**/*.test.ts'],
    // The sample dataset is generated once per run; tests copy it (apps/cli/src/test-support/data-dir.ts).
    globalSetup: ['apps/cli/src/test-support/global-setup.ts'],
    // A test that asserts nothing passes whatever the code does: every test must assert something.
    expect: { requireAssertions: true },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests share one machine's PostgreSQL and ports; files run in parallel, tests inside a file in order.
    pool: 'forks',
    maxWorkers: 2,
    // FERRY_TEST_SEED (set by .ci/run): files and the tests in them run in a random order, which
    // proves no test relies on state another left.
    ...(process.env.FERRY_TEST_SEED ? { sequence: { shuffle: { files: true, tests: true }, seed: Number(process.env.FERRY_TEST_SEED) } } : {}),
    // Under CI a JSON report as well, so .ci/run can print a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'tmp/vitest-report.json' }]] : ['default'],
  },
});
