import { silentLogger } from '@ferry/core';
import { configuredPlugins } from './plugins.js';
import type { FerryConfig } from './config.js';

/** `ferry migrate`: bring the configured job store's schema up to date, without starting any work. */
export async function migrate(config: FerryConfig): Promise<{ store: string; from: number; to: number }> {
  const outcome = await (await configuredPlugins(config)).migrate('jobs', config.jobs, { logger: silentLogger, dataDir: config.dataDir }, ['jobs']);
  return { store: config.jobs.use, ...(outcome ?? { from: 0, to: 0 }) };
}
