import type { RecordBatch, Schema } from 'apache-arrow';
import type { ResolvedQuery } from './catalog.js';
import type { FieldPath } from './errors.js';

// ---------------------------------------------------------------- source

/** Rows of one query: the schema first (a zero-row result still has one), then Arrow batches. */
export interface RowStream {
  schema: Schema;
  batches: AsyncIterable<RecordBatch>;
}

/** Formats a source may write itself (pushdown). */
export type NativeFormat = 'csv' | 'jsonl';

/** A pushed-down export: the encoded file, byte for byte what the Arrow path and the default format writer give. */
export interface NativeExport {
  body: AsyncIterable<Uint8Array>;
  /** Rows written; settles once `body` has been consumed to the end. */
  rows: Promise<number>;
}

export interface QuerySource {
  readonly name: string;
  readonly dialect: string;
  /** Run the query. Breaking out of `batches` or aborting `signal` releases the cursor. */
  open(query: ResolvedQuery, opts: { signal: AbortSignal; batchRows?: number }): Promise<RowStream>;
  /**
   * Optional pushdown: the database encodes the file itself (COPY). The bytes must equal what
   * `open` + the default `@ferry/format-csv` / `@ferry/format-jsonl` writer produce; a source returns
   * null when it cannot guarantee that for this query (the engine then uses `open`). Breaking out
   * of `body` or aborting `signal` cancels the query.
   */
  exportNative?(query: ResolvedQuery, format: NativeFormat, opts: { signal: AbortSignal }): Promise<NativeExport | null>;
  /** A cheap round trip to the database, for readiness checks. */
  ping?(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- format

export interface FormatWriter {
  readonly name: string;
  /** e.g. `text/csv; charset=utf-8` */
  readonly mediaType: string;
  /** Without a dot: `csv`. */
  readonly extension: string;
  /** Text formats are gzip-compressed by the engine; columnar formats compress internally. */
  readonly compressible: boolean;
  /**
   * The source pushdown format whose bytes equal this writer's output, when they do (a csv or
   * jsonl writer with default options); the engine then lets the database encode the file.
   */
  readonly pushdown?: NativeFormat;
  /** Encode batches into bytes. Zero batches still give a valid file; input is pulled only as output is consumed. */
  write(schema: Schema, batches: AsyncIterable<RecordBatch>, opts: { signal: AbortSignal }): AsyncIterable<Uint8Array>;
}

// ---------------------------------------------------------------- store

export interface ObjectRef {
  key: string;
  size: number;
  contentType: string;
  sha256: string;
}

export interface ByteRange {
  start: number;
  /** Inclusive, as in HTTP. */
  end: number;
}

export interface StoredObject {
  body: AsyncIterable<Uint8Array>;
  size: number;
  contentType: string;
}

export interface StoreCapabilities {
  signedUrls: boolean;
  rangeReads: boolean;
  multipart: boolean;
}

export interface ObjectStore {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  /** Stream a body in. The object becomes visible only once complete; an aborted put leaves nothing. Overwrites replace. */
  put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef>;
  /** Throws FerryError NOT_FOUND for a missing key. */
  get(key: string, opts?: { range?: ByteRange; signal?: AbortSignal }): Promise<StoredObject>;
  /** Idempotent. */
  delete(key: string): Promise<void>;
  signUrl?(key: string, opts: { expiresInSec: number; downloadName?: string }): Promise<string>;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- notifier

/** A message ready to send: the body is final bytes, the headers include its signature. */
export interface OutgoingWebhook {
  /** Stable across retries; receivers dedupe on it (`webhook-id`). */
  id: string;
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface DeliveryResult {
  ok: boolean;
  status?: number;
  /** Worth another attempt (timeouts, 5xx, 429); false for e.g. a refused target. */
  retryable: boolean;
  /** Hint from Retry-After, in milliseconds. */
  retryAfterMs?: number;
  durationMs: number;
  /** First 4 KiB of the response body. */
  responseBody?: string;
  error?: string;
}

/**
 * How a delivery proves where it came from:
 * - `ferry-hmac`: the seed scheme; `hmacSignature` in the body and `SHA256-HMAC-Signature` header,
 *   computed at submit time (it is keyed by the API key, which Ferry keeps only as a hash);
 * - `secret-header`: the endpoint's secret in `x-webhook-secret` (seed 002);
 * - `standard-webhooks`: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>`).
 */
export const SIGNING_SCHEMES = ['ferry-hmac', 'secret-header', 'standard-webhooks'] as const;
export type SigningScheme = (typeof SIGNING_SCHEMES)[number];

export interface SigningSpec {
  scheme: SigningScheme;
  /** Active secrets, newest first; during a rotation the old one is still here. */
  secrets: readonly string[];
}

export interface Notifier {
  readonly name: string;
  /** Refuse a target at submit time (scheme, non-global address). Throws INVALID_WEBHOOK_URL at `path`. */
  validateTarget(url: string, path: FieldPath): Promise<void>;
  /** The seed scheme: hex HMAC-SHA256 of `JSON.stringify(payload)` keyed by `key`. */
  signPayload(key: string, payload: unknown): string;
  /** A new endpoint secret for `scheme` (e.g. `whsec_` + 32 random bytes). */
  createSecret(scheme: SigningScheme): string;
  /** One attempt, signed per `signing` at send time. Never follows redirects; re-checks the resolved address at connect time. */
  deliver(message: OutgoingWebhook, opts: { signal?: AbortSignal; timeoutMs?: number; signing?: SigningSpec }): Promise<DeliveryResult>;
  close?(): Promise<void>;
}
