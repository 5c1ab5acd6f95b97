/**
 * Preloaded (`--import`) by the start-up benchmark: imports every built-in plugin package, and so
 * every SDK, before Ferry starts, as the CLI did when it imported all plugins statically. The
 * difference to a plain start is what lazy loading saves.
 */
await Promise.all([
  import('@ferry/jobs-sqlite'),
  import('@ferry/jobs-postgres'),
  import('@ferry/store-local'),
  import('@ferry/store-s3'),
  import('@ferry/store-gcs'),
  import('@ferry/notifier-webhook'),
  import('@ferry/notifier-nats'),
  import('@ferry/source-duckdb'),
  import('@ferry/source-postgres'),
  import('@ferry/format-csv'),
  import('@ferry/format-jsonl'),
  import('@ferry/format-parquet'),
  import('@ferry/format-arrow'),
]);
export {};
