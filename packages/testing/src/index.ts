export { describeStoreConformance, type StoreConformanceOptions } from './store-conformance.js';
export { describeJobStoreConformance, sampleExport, type JobStoreConformanceOptions } from './jobs-conformance.js';
export { describeFormatConformance, type FormatConformanceOptions, type FormatTestKit } from './format-conformance.js';
export { fixtureColumns, fixtureBatches, wideColumns, type FixtureColumn, type Comparable } from './fixture.js';
export { DuckDbReader, sqlIdent, sqlString, type ReaderKind, type ReadColumn } from './duckdb-reader.js';
export * from './arrow-build.js';
export { mixedBatches } from './bench-data.js';
