/** `@ferry/testing/source`: the query suite every SQL source runs unchanged, and the pushdown suite. */
export { describeQuerySuite, normalizeBatches, type NormalizedResult, type QuerySuiteOptions, type QuerySuiteSetup } from './query-suite.js';
export { QUERY_CASES, type QueryCase } from './query-cases.js';
export { suiteDataset, suiteTableSql, SUITE_COLUMNS, SUITE_ROW_COUNT, type SuiteDialect } from './query-fixture.js';
export { describeNativeExport, describePushdownOption, exportTableSql, NATIVE_EXPORT_CASES, type NativeExportCase, type NativeExportOptions, type PushdownOptionSuite } from './native-export.js';
export { DuckDbReader, duckdbRows, sqlIdent, sqlString } from './duckdb-reader.js';
