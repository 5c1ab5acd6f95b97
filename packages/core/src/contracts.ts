import type { RecordBatch, Schema } from 'apache-arrow';
import type { ResolvedQuery } from './catalog.js';
import type { FieldPath } from './errors.js';
import type { ExportFormat, ExportState } from './export.js';

// ---------------------------------------------------------------- source

/** Rows of one query: the schema first (a zero-row result still has one), then Arrow batches. */
export interface RowStream {
  schema: Schema;
  batches: AsyncIterable<RecordBatch>;
}

export interface QuerySource {
  readonly name: string;
  readonly dialect: string;
  /** Run the query. Breaking out of `batches` or aborting `signal` releases the cursor. */
  open(query: ResolvedQuery, opts: { signal: AbortSignal; batchRows?: number }): Promise<RowStream>;
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

// ---------------------------------------------------------------- jobs

export interface Account {
  id: number;
}

export interface NewExportJob {
  id: string;
  accountId: number;
  name: string;
  format: ExportFormat;
  webhookUrl: string;
  datasetKey: string;
  /** The query exactly as the client sent it (the webhook echoes it as `payload`). */
  query: unknown;
  hmacSignature: string;
  requestedAt: Date;
}

export interface ExportResult {
  objectKey: string;
  contentType: string;
  fileName: string;
  numberRows: number;
  bytes: number;
  sha256: string;
  timeTakenMs: number;
  finishedAt: Date;
  expiresAt: Date;
}

export interface ExportJob extends NewExportJob {
  state: ExportState;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  progressRows: number;
  progressBytes: number;
  result: ExportResult | null;
  error: string | null;
  downloads: number;
}

export interface NewDelivery {
  id: string;
  accountId: number;
  exportId: string | null;
  eventType: string;
  url: string;
  body: string;
  headers: Record<string, string>;
}

export type DeliveryState = 'pending' | 'succeeded' | 'failed';

export interface Delivery extends NewDelivery {
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  createdAt: Date;
  lastError: string | null;
}

export interface AttemptRecord {
  at: Date;
  durationMs: number;
  status: number | null;
  error: string | null;
  responseBody: string | null;
}

export interface DownloadRecord {
  exportId: string;
  at: Date;
  bytes: number;
  client: string;
  range: string | null;
}

/**
 * Durable state: accounts, export jobs (lease-based claims), the webhook outbox and its attempt log.
 * Every method that changes two things changes them in one transaction.
 */
export interface JobStore {
  readonly name: string;

  createAccount(): Promise<Account>;
  /** Register an API key (by its hash) for `account`, default the first account (created if needed); idempotent. */
  registerApiKey(keyHash: string, account?: Account): Promise<Account>;
  findAccountByKeyHash(keyHash: string): Promise<Account | null>;
  countApiKeys(): Promise<number>;
  /** A small persistent key/value for server secrets; first writer wins. */
  getOrCreateSetting(name: string, create: () => string): Promise<string>;

  enqueueExport(job: NewExportJob): Promise<ExportJob>;
  getExport(id: string): Promise<ExportJob | null>;
  /** Claim the oldest due export whose lease is free or expired. Increments `attempts`. */
  claimExport(owner: string, leaseMs: number): Promise<ExportJob | null>;
  /** Extend the lease and record progress; false when the lease was lost. */
  heartbeatExport(id: string, owner: string, leaseMs: number, progress: { rows: number; bytes: number }): Promise<boolean>;
  /** Mark completed and enqueue its deliveries in the same transaction. False when the lease was lost. */
  completeExport(id: string, owner: string, result: ExportResult, deliveries: NewDelivery[]): Promise<boolean>;
  /** `retryAt` set: back to queued for a later attempt; otherwise failed for good. */
  failExport(id: string, owner: string, reason: string, retryAt?: Date): Promise<void>;
  /** Give the job back without counting the attempt (graceful shutdown). */
  releaseExport(id: string, owner: string): Promise<void>;

  /** Claim up to `limit` due pending deliveries under a lease. */
  claimDeliveries(owner: string, limit: number, leaseMs: number): Promise<Delivery[]>;
  /** Record one attempt and the delivery's next state in one transaction. */
  recordAttempt(
    id: string,
    owner: string,
    attempt: AttemptRecord,
    next: { state: 'succeeded' | 'failed' } | { state: 'pending'; nextAttemptAt: Date },
  ): Promise<void>;
  getDelivery(id: string): Promise<(Delivery & { attemptLog: AttemptRecord[] }) | null>;

  recordDownload(download: DownloadRecord): Promise<void>;

  close(): Promise<void>;
}
