import { Type, type Schema } from 'apache-arrow';
import { Compression, WriterPropertiesBuilder, type WriterProperties } from 'parquet-wasm';
import type { ParquetOptions } from './options.js';

/**
 * Writer properties for one file.
 *
 * Dictionaries: for columns that arrive dictionary-encoded (the source already knows they repeat),
 * and for string columns under snappy only. zstd finds a low-cardinality column's repeats by
 * itself, so string dictionaries made zstd files no smaller or larger (they overflow arrow-rs's
 * 1 MB dictionary page on high-cardinality text) for 5-30 % more encoding time; snappy has no such
 * window and keeps them. Numbers never get one: arrow-rs tries and abandons it on high-cardinality
 * columns. Data pages stay V1 with PLAIN: the most widely readable layout. Figures: README.md,
 * "Encodings".
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
