export { describeStoreConformance, type StoreConformanceOptions } from './store-conformance.js';
export {
  describeJobStoreConformance,
  SAMPLE_QUERY,
  sampleApiKey,
  sampleAttempt,
  sampleDelivery,
  sampleEndpoint,
  sampleEvent,
  sampleExport,
  sampleImplicitEndpoint,
  sampleResult,
  sampleSchedule,
  sampleVersion,
  type JobStoreConformanceOptions,
} from './jobs-conformance.js';
export { describeFormatConformance, STREAMING_BATCH_ROWS, type FormatConformanceOptions, type FormatTestKit } from './format-conformance.js';
export { fixtureColumns, fixtureBatches, wideColumns, type FixtureColumn, type Comparable } from './fixture.js';
export { DuckDbReader, duckdbRows, isTypedReader, sqlIdent, sqlString, type ReaderKind, type ReadColumn } from './duckdb-reader.js';
export { arrowStreamToParquet } from './arrow-ipc-reader.js';
export * from './arrow-build.js';
export { mixedBatches } from './bench-data.js';
export { describeQuerySuite, normalizeBatches, type NormalizedResult, type QuerySuiteOptions, type QuerySuiteSetup } from './query-suite.js';
export { QUERY_CASES, type QueryCase } from './query-cases.js';
export { suiteDataset, suiteTableSql, SUITE_COLUMNS, SUITE_ROW_COUNT, type SuiteDialect } from './query-fixture.js';
export { describePostgres, describeWithService, probeTcp, requirePostgres, POSTGRES, type PostgresService } from './services.js';
export { describeNativeExport, exportTableSql, NATIVE_EXPORT_CASES, type NativeExportCase, type NativeExportOptions } from './native-export.js';
export { guardLoopbackOnly, type LoopbackGuard } from './loopback-guard.js';
export { startSeedReceivers, waitFor, type ReceivedWebhook, type SeedReceivers } from './seed-receivers.js';
