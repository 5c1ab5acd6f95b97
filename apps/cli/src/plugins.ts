import { PluginRegistry } from '@ferry/core';
import { sqliteJobs } from '@ferry/jobs-sqlite';
import { localStore } from '@ferry/store-local';
import { webhookNotifier } from '@ferry/notifier-webhook';
import { duckdbSource } from '@ferry/source-duckdb';
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';

/** Every plugin that ships with Ferry. Adding one is one import and one entry here. */
export function builtInPlugins(): PluginRegistry {
  return new PluginRegistry().register(sqliteJobs, localStore, webhookNotifier, duckdbSource, csvFormat, jsonlFormat);
}
