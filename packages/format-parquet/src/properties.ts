import { Type, type Schema } from 'apache-arrow';
import { Compression, WriterPropertiesBuilder, type WriterProperties } from 'parquet-wasm';
import type { ParquetOptions } from './options.js';

/**
 * Writer properties for one file.
 *
 * Dictionaries: for columns that arrive dictionary-encoded (the source already knows they repeat),
 * and for string columns under snappy only. zstd finds the repeats of a low-cardinality column by
 * itself: measured on three data sets (the 5M-row bench table, the 19-column sample, the 10 mixed
 * columns of bench/encode.ts), dictionaries on string columns made zstd files no smaller (5.3 MB
 * either way) or larger (37.8 MB against 25.0 MB for the bench table, whose addresses and zip codes
 * overflow arrow-rs's 1 MB dictionary page and fall back to PLAIN after the work is done) and cost
 * 5-30 % of the encoding time. snappy has no such window: the sample grew from 10.8 to 14.3 MB
 * without them. Numbers never get one (arrow-rs tries and abandons it on high-cardinality columns:
 * 3x slower and larger). Data pages stay V1 with PLAIN: the most widely readable layout; DELTA
 * encodings would make sequential ids smaller but some older readers reject them.
 */
export function writerProperties(schema: Schema, options: ParquetOptions): WriterProperties {
  let builder = new WriterPropertiesBuilder()
    .setCompression(options.compression === 'zstd' ? Compression.ZSTD : Compression.SNAPPY)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setDictionaryEnabled(false)
    .setCreatedBy('ferry (parquet-wasm 0.8, arrow-rs)');
  const stringDictionaries = options.compression === 'snappy';
  for (const field of schema.fields) {
    const id = field.type.typeId;
    if (id === Type.Dictionary || (stringDictionaries && (id === Type.Utf8 || id === Type.LargeUtf8))) {
      builder = builder.setColumnDictionaryEnabled(field.name, true);
    }
  }
  return builder.build();
}
