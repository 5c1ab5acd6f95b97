import { definePlugin, type FormatWriter } from '@ferry/core';
import { parquetOptionsSchema, type ParquetOptions } from './options.js';
import { ParquetWriter } from './writer.js';

export const parquetFormat = definePlugin({
  kind: 'format',
  name: 'parquet',
  description: 'Apache Parquet (zstd or snappy, row groups streamed as they fill); logical types kept: DATE, TIMESTAMP (UTC-adjusted when zoned), DECIMAL, INT64',
  options: parquetOptionsSchema,
  capabilities: { streaming: true, compressible: false },
  create: (options: ParquetOptions): FormatWriter => new ParquetWriter(options),
});
