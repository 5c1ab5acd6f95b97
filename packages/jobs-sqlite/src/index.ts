import { resolve } from 'node:path';
import { z } from 'zod';
import { definePlugin } from '@ferry/core';
import { SqliteJobStore, migrateSqliteFile } from './sqlite-job-store.js';

export { SqliteJobStore, migrateSqliteFile, type SqliteJobStoreOptions } from './sqlite-job-store.js';

const fileOf = (options: { file?: string | undefined }, dataDir: string) =>
  options.file === ':memory:' ? ':memory:' : resolve(dataDir, options.file ?? 'ferry.db');

export const SqliteJobsOptions = z.strictObject({
  /** Database file; relative paths are under the data dir. Default `<dataDir>/ferry.db`. */
  file: z.string().min(1).optional(),
});
export type SqliteJobsOptions = z.infer<typeof SqliteJobsOptions>;

export const sqliteJobs = definePlugin({
  kind: 'jobs',
  name: 'sqlite',
  description: 'Jobs, outbox and attempt log in one SQLite file (WAL). Embedded default.',
  options: SqliteJobsOptions,
  capabilities: { transactions: true, multiProcess: true },
  create: (options, ctx) => new SqliteJobStore({ file: fileOf(options, ctx.dataDir) }),
  migrate: async (options, ctx) => migrateSqliteFile(fileOf(options, ctx.dataDir)),
});
