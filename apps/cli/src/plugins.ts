import { PluginRegistry } from '@ferry/core';
import { sqliteJobs } from '@ferry/jobs-sqlite';
import { postgresJobs } from '@ferry/jobs-postgres';
import { localStore } from '@ferry/store-local';
import { s3Store } from '@ferry/store-s3';
import { gcsStore } from '@ferry/store-gcs';
import { parquetFormat } from '@ferry/format-parquet';
import { arrowFormat } from '@ferry/format-arrow';
import { webhookNotifier } from '@ferry/notifier-webhook';
import { duckdbSource } from '@ferry/source-duckdb';
import { postgresSource } from '@ferry/source-postgres';
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';

/** Every plugin that ships with Ferry. Adding one is one import and one entry here. */
export function builtInPlugins(): PluginRegistry {
  return new PluginRegistry().register(
    sqliteJobs,
    postgresJobs,
    localStore,
    s3Store,
    gcsStore,
    webhookNotifier,
    duckdbSource,
    postgresSource,
    csvFormat,
    jsonlFormat,
    parquetFormat,
    arrowFormat,
  );
}
