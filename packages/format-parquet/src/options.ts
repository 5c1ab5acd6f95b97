import { z } from 'zod';

/**
 * Rows per row group. 122,880 is DuckDB's own row group size: DuckDB (and most engines) parallelise
 * scans by row group, so files of many large-enough groups read fast, while the writer buffers at
 * most one row group of encoded pages (a few MB), which keeps memory flat whatever the export size.
 * arrow-rs defaults to 1,048,576, which buffers 8x more for no read benefit.
 */
export const DEFAULT_ROW_GROUP_ROWS = 122_880;

export const parquetOptionsSchema = z.strictObject({
  /** Page compression. zstd (level 1) is smaller at about the same speed; snappy for old readers. */
  compression: z.enum(['zstd', 'snappy']).default('zstd'),
  /** Maximum rows per row group (see DEFAULT_ROW_GROUP_ROWS). */
  rowGroupRows: z.number().int().min(1).max(16_777_216).default(DEFAULT_ROW_GROUP_ROWS),
});

export type ParquetOptions = z.output<typeof parquetOptionsSchema>;
