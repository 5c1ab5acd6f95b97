import { Type, type Schema } from 'apache-arrow';
import { Compression, WriterPropertiesBuilder, type WriterProperties } from 'parquet-wasm';
import type { ParquetOptions } from './options.js';

/**
 * Writer properties for one file.
 *
 * Dictionary encoding is enabled for string columns only. Measured on the 10-column bench data
 * (bench/encode.ts): dictionaries on every column made arrow-rs try, and abandon, a dictionary for
 * each high-cardinality number column, 3x slower and larger; numbers compress as well with zstd
 * alone, while low-cardinality strings (cities, statuses, enums) shrink a lot with a dictionary.
 * Data pages stay V1 with PLAIN fallback: the most widely readable layout (as DuckDB writes by
 * default); DELTA encodings would make sequential ids smaller but some older readers reject them.
 */
export function writerProperties(schema: Schema, options: ParquetOptions): WriterProperties {
  let builder = new WriterPropertiesBuilder()
    .setCompression(options.compression === 'zstd' ? Compression.ZSTD : Compression.SNAPPY)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setDictionaryEnabled(false)
    .setCreatedBy('ferry (parquet-wasm 0.8, arrow-rs)');
  for (const field of schema.fields) {
    const id = field.type.typeId;
    // Dictionary-typed Arrow columns keep their dictionary; plain strings get one.
    if (id === Type.Utf8 || id === Type.LargeUtf8 || id === Type.Dictionary) {
      builder = builder.setColumnDictionaryEnabled(field.name, true);
    }
  }
  return builder.build();
}
