import { readFile, writeFile } from 'node:fs/promises';
import { Table, writeParquet } from 'parquet-wasm';

/**
 * An Arrow IPC stream file, re-written as Parquet by arrow-rs (the Rust Arrow implementation,
 * compiled to wasm in parquet-wasm), so DuckDB can read it.
 *
 * Why: DuckDB 1.5 reads Arrow IPC only through its `arrow` community extension, which cannot be
 * installed offline, and pyarrow is not installed. arrow-rs is independent of apache-arrow (the JS
 * library our Arrow writer uses): it parses and validates the stream itself, and keeps every type
 * (decimal, zoned timestamps, int64) when it writes the Parquet file that DuckDB then reads.
 */
export async function arrowStreamToParquet(file: string): Promise<string> {
  const table = Table.fromIPCStream(new Uint8Array(await readFile(file)));
  const out = `${file}.via-arrow-rs.parquet`;
  // writeParquet consumes (frees) the table.
  await writeFile(out, writeParquet(table));
  return out;
}
