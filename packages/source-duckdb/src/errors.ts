import { FerryError, isFerryError } from '@ferry/core';

const PLUGIN = 'source:duckdb';

/**
 * DuckDB's error classes (the message starts `<Class> Error:`) that the same query meets again
 * on every attempt: the query or the data does not fit the database (a missing column or table, a
 * type that does not convert, a value out of range). Everything else (I/O, memory, an interrupt,
 * an internal error) may pass.
 */
const PERMANENT =
  /\b(Binder|Catalog|Conversion|Parser|Syntax|Invalid Input|Out of Range|Not implemented|Mismatch Type|Invalid type|Dependency|Constraint|Permission|Sequence) Error:/;

/**
 * The disk under the spill directory is full. DuckDB says so as an I/O error, or, when its
 * max_temp_directory_size (by default the disk's free space) runs out, as "Out of Memory Error:
 * failed to offload data block", which is why a full disk used to be reported as memory.
 */
const DISK_FULL = /No space left on device|Disk quota exceeded|max_temp_directory_size|failed to offload data block/i;

/**
 * A DuckDB failure as a FerryError: QUERY_FAILED with `retryable` saying whether another attempt
 * can help, or STORAGE_FULL ("disk full") when the spill directory's disk is full. The message
 * keeps DuckDB's first line (the reason a user can act on), never a file path of ours.
 */
export function queryFailed(err: unknown): FerryError {
  if (isFerryError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (DISK_FULL.test(message)) {
    return new FerryError(
      'STORAGE_FULL',
      'disk full: DuckDB ran out of disk space for temporary files while spilling a large sort, join or aggregation (free space under the data dir, or raise the source\'s memoryLimit)',
      { plugin: PLUGIN, retryable: true, cause: err },
    );
  }
  const firstLine = message.split('\n')[0]!.replace(/^Failed to extract statements: /, '');
  return new FerryError('QUERY_FAILED', `DuckDB query failed: ${firstLine}`, { plugin: PLUGIN, retryable: !PERMANENT.test(firstLine), cause: err });
}
