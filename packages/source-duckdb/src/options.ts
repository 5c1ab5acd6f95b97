import { z } from 'zod';
import { pushdownOption } from '@ferry/core';
import { NATIVE_FORMATS } from './native.js';

export const DuckDBSourceOptions = z.strictObject({
  /** Database file, or `:memory:` (the default) when every dataset is a file or SQL over files. Relative paths are under the data dir. */
  path: z.string().min(1).default(':memory:'),
  /** Worker threads for DuckDB; DuckDB's default is one per core. */
  threads: z.int().min(1).max(1024).optional(),
  /**
   * DuckDB's memory_limit, e.g. `2GB` or `512MiB`. The default keeps an export worker's memory
   * bounded (DuckDB's own default is 80% of the machine); sorts and aggregations beyond it spill to
   * `<dataDir>/duckdb-tmp`.
   */
  memoryLimit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 2GB or 512MiB')
    .default('256MB'),
  /** Open a database file read-only, so other processes may read it at the same time. */
  readOnly: z.boolean().optional(),
  /**
   * Formats DuckDB writes itself with its parallel COPY (pushdown): `true` (the default) for every
   * one it can (`csv`, `jsonl`, `parquet`), `false` for none, or a list. Pushed down, csv.gz and
   * jsonl.gz are about twice as fast as the Arrow path on the sample dataset, in half the memory
   * (docs/benchmarks.md); the file reads back the same either way (README, "Pushdown").
   */
  pushdown: pushdownOption(NATIVE_FORMATS, true),
  /** Rows per Arrow batch when the caller does not ask for a size. */
  batchRows: z.int().min(1).max(1_048_576).default(16384),
});
export type DuckDBSourceOptions = z.output<typeof DuckDBSourceOptions>;
