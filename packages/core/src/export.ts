import { z } from 'zod';
import { DatasetQuery } from './query.js';
import { SIGNING_SCHEMES } from './contracts.js';

/**
 * A format slot's name, as clients request it: formats are an open set, whatever the install
 * configures (`csv`, `jsonl`, `parquet` and `arrow` by default; `GET /datasets` lists them).
 */
export const ExportFormat = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'a format name, e.g. csv')
  .max(64)
  .describe('One of the formats this install offers (GET /datasets lists them): csv, jsonl, parquet and arrow by default.');
export type ExportFormat = z.infer<typeof ExportFormat>;

/** gzip by default where the format's writer says its output compresses (the text formats, as the seeds say; Arrow); none for Parquet. */
export const Compression = z.enum(['gzip', 'zstd', 'none']);
export type Compression = z.infer<typeof Compression>;

/** `POST /dataset/export` body, as seed 001/003 describe it. */
export const ExportRequest = z.strictObject({
  dataset: DatasetQuery,
  webhookURL: z.string().min(1).max(2048),
  name: z.string().trim().min(1, 'name must not be empty').max(256),
  format: ExportFormat,
  /** gzip (the default for formats that compress: csv, jsonl, arrow), zstd where the runtime has it, or none (Parquet compresses inside). */
  compression: Compression.optional(),
  /** How the completion webhook is signed; the seed scheme by default. Other schemes get an endpoint secret. */
  webhookScheme: z.enum(SIGNING_SCHEMES).optional(),
  /** Split a large export into numbered parts plus a manifest; no part exceeds either limit (bytes: the stored, compressed size). */
  maxFileRows: z.int().positive().optional(),
  maxFileBytes: z.int().min(1024 * 1024, 'maxFileBytes is at least 1 MiB').optional(),
  /** Also call webhookURL when the export fails (the seeds' hosted API does not). */
  notifyOnFailure: z.boolean().optional(),
});
export type ExportRequest = z.infer<typeof ExportRequest>;

/** `expired`: the retention period ended and the file was deleted. */
export const ExportState = z.enum(['queued', 'running', 'completed', 'failed', 'expired']);
export type ExportState = z.infer<typeof ExportState>;

/** The completion webhook, field for field as seed 001 shows it. */
export const WebhookPayload = z.strictObject({
  queryUUID: z.uuid(),
  name: z.string(),
  format: z.string(),
  /** The dataset query exactly as submitted; `hmacSignature` is computed over `JSON.stringify(payload)`. */
  payload: z.unknown(),
  hmacSignature: z.string().regex(/^[0-9a-f]{64}$/),
  gcsBlob: z.strictObject({
    url: z.url(),
    expires: z.iso.datetime(),
    timeTakenMs: z.int().nonnegative(),
    numberRows: z.int().nonnegative(),
  }),
  requestedOn: z.iso.datetime(),
  completedOn: z.iso.datetime(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** Query of `GET /dataset/export`: the caller's exports, newest first. */
export const ExportListRequest = z.strictObject({
  state: ExportState.optional(),
  /** An export id from the previous page, to continue after it. */
  starting_after: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
