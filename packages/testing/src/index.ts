export { describeStoreConformance, type StoreConformanceOptions } from './store-conformance.js';
export { describeJobStoreConformance, sampleExport, type JobStoreConformanceOptions } from './jobs-conformance.js';
export { describeFormatConformance, STREAMING_BATCH_ROWS, type FormatConformanceOptions, type FormatTestKit } from './format-conformance.js';
export { fixtureColumns, fixtureBatches, wideColumns, type FixtureColumn, type Comparable } from './fixture.js';
export { DuckDbReader, isTypedReader, sqlIdent, sqlString, type ReaderKind, type ReadColumn } from './duckdb-reader.js';
export { arrowStreamToParquet } from './arrow-ipc-reader.js';
export * from './arrow-build.js';
export { mixedBatches } from './bench-data.js';
