import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tools/*/src/**/*.test.ts'],
    // The sample dataset is generated once per run; tests copy it (apps/cli/src/test-support/data-dir.ts).
    globalSetup: ['apps/cli/src/test-support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests share one machine's PostgreSQL and ports; files run in parallel, tests inside a file in order.
    pool: 'forks',
    maxWorkers: 2,
    // Under CI a JSON report as well, so .ci/run can print a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'tmp/vitest-report.json' }]] : ['default'],
  },
});
