export { DuckDBSnapshotEngine, type DuckDBSnapshotOptions } from './duckdb-snapshots.js';
export { readParquetFile } from './read.js';
