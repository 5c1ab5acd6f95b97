/**
 * `@ferry/testing/format`: the conformance suite every format writer runs unchanged, its fixtures,
 * and the DuckDB reader it reads files back with by default.
 */
export { describeFormatConformance, STREAMING_BATCH_ROWS, type FormatConformanceOptions, type FormatReadBack, type FormatTestKit } from './format-conformance.js';
export { fixtureColumns, fixtureBatches, wideColumns, type FixtureColumn, type Comparable } from './fixture.js';
export * from './arrow-build.js';
export { mixedBatches } from './bench-data.js';
export { DuckDbReader, duckdbRows, isTypedReader, sqlIdent, sqlString, type ReaderKind, type ReadColumn } from './duckdb-reader.js';
export { arrowStreamToParquet } from './arrow-ipc-reader.js';
