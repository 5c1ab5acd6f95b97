import { PluginRegistry, type LazyPlugin } from '@ferry/core';
import { registerPluginModules } from './plugin-modules.js';
import type { FerryConfig } from './config.js';

/**
 * Every plugin that ships with Ferry. A plugin's module, and the SDK it brings (the AWS or Google
 * Cloud SDK, pg), is imported only when a config slot uses it, so an install pays
 * start-up time and memory for what it configures. Adding one is one entry here, which
 * `npx nx g @ferry/generators:plugin` writes (tools/generators).
 */
export const BUILT_IN_PLUGINS: readonly LazyPlugin[] = [
  { kind: 'jobs', name: 'sqlite', load: () => import('@ferry/jobs-sqlite').then((m) => m.sqliteJobs) },
  { kind: 'jobs', name: 'postgres', load: () => import('@ferry/jobs-postgres').then((m) => m.postgresJobs) },
  { kind: 'store', name: 'local', load: () => import('@ferry/store-local').then((m) => m.localStore) },
  { kind: 'store', name: 's3', load: () => import('@ferry/store-s3').then((m) => m.s3Store) },
  { kind: 'store', name: 'gcs', load: () => import('@ferry/store-gcs').then((m) => m.gcsStore) },
  { kind: 'notifier', name: 'webhook', load: () => import('@ferry/notifier-webhook').then((m) => m.webhookNotifier) },
  { kind: 'notifier', name: 'nats', load: () => import('@ferry/notifier-nats').then((m) => m.natsNotifier) },
  { kind: 'source', name: 'duckdb', load: () => import('@ferry/source-duckdb').then((m) => m.duckdbSource) },
  { kind: 'source', name: 'postgres', load: () => import('@ferry/source-postgres').then((m) => m.postgresSource) },
  { kind: 'format', name: 'csv', load: () => import('@ferry/format-csv').then((m) => m.csvFormat) },
  { kind: 'format', name: 'jsonl', load: () => import('@ferry/format-jsonl').then((m) => m.jsonlFormat) },
  { kind: 'format', name: 'parquet', load: () => import('@ferry/format-parquet').then((m) => m.parquetFormat) },
  { kind: 'format', name: 'arrow', load: () => import('@ferry/format-arrow').then((m) => m.arrowFormat) },
];

/** The built-in plugins, none of them imported yet. */
export function builtInPlugins(): PluginRegistry {
  return new PluginRegistry().registerLazy(...BUILT_IN_PLUGINS);
}

/** The built-in plugins and those of the modules the config's `plugins` names, ready for its slots. */
export async function configuredPlugins(config: Pick<FerryConfig, 'plugins'>): Promise<PluginRegistry> {
  return registerPluginModules(builtInPlugins(), config.plugins);
}
