import { definePlugin } from '@ferry/core';
import { PostgresJobsOptions } from './options.js';
import { PostgresJobStore } from './postgres-job-store.js';
import { migratePostgres } from './migrate.js';

export { PostgresJobStore, type PostgresJobStoreOptions } from './postgres-job-store.js';
export { PostgresJobsOptions, type PostgresJobsInput } from './options.js';
export { migratePostgres, type MigrationOutcome } from './migrate.js';
export { MIGRATIONS } from './migrations.js';

export const postgresJobs = definePlugin({
  kind: 'jobs',
  name: 'postgres',
  description: 'Jobs, outbox and attempt log in PostgreSQL tables shared by many api and worker processes (SKIP LOCKED claims, LISTEN/NOTIFY wake-ups).',
  options: PostgresJobsOptions,
  capabilities: { transactions: true, multiProcess: true, wakeUps: true },
  create: (options, ctx) => PostgresJobStore.open({ ...options, logger: ctx.logger }),
  migrate: (options) => migratePostgres(options),
});
