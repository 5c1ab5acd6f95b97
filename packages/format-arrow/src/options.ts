import { z } from 'zod';

/**
 * Nothing to configure today. IPC body compression (LZ4/ZSTD) would need codecs registered with
 * apache-arrow that are not dependencies; the stream is written uncompressed. Strict so typos fail.
 */
export const arrowOptionsSchema = z.strictObject({});

export type ArrowOptions = z.output<typeof arrowOptionsSchema>;
