import { FerryError, type Compression, type FieldPath, type FormatWriter } from '@ferry/core';
import { compressionAvailable } from './compression.js';

/** The formats an install offers: its configured format slots, by the name clients request. */
export type Formats = ReadonlyMap<string, FormatWriter>;

/**
 * The writer and compression for a requested format. Formats are an open set: any configured slot
 * may be requested, and whether its output is worth compressing is the writer's own say
 * (`compressible`); compressible output is gzipped unless the client asks otherwise.
 */
export function chooseOutput(
  formats: Formats,
  format: string,
  compression: Compression | undefined,
  path: { format: FieldPath; compression: FieldPath },
): { writer: FormatWriter; compression: Compression } {
  const writer = formats.get(format);
  if (!writer) {
    throw new FerryError('VALIDATION_FAILED', `format "${format}" is not offered here (offered: ${[...formats.keys()].join(', ')})`, { path: path.format });
  }
  const chosen = compression ?? (writer.compressible ? 'gzip' : 'none');
  if (chosen !== 'none' && !writer.compressible) {
    throw new FerryError('VALIDATION_FAILED', `format "${format}" is compressed by its writer already; use compression "none" or leave it out`, {
      path: path.compression,
    });
  }
  if (!compressionAvailable(chosen)) {
    throw new FerryError('VALIDATION_FAILED', `${chosen} is not available on this server's runtime (Node.js ${process.versions.node}; zstd needs 22.15 or newer)`, {
      path: path.compression,
    });
  }
  return { writer, compression: chosen };
}
