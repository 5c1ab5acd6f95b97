import type { RecordBatch, Schema } from 'apache-arrow';
import type { ResolvedQuery } from './catalog.js';
import type { FieldPath } from './errors.js';
import type { Compression, ExportFormat, ExportState } from './export.js';
import type { DatasetVersion, NewDatasetVersion, NewSchedule, Schedule, ScheduleKind, VersionListQuery, VersionLookup } from './versions.js';

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

// ---------------------------------------------------------------- jobs

export interface Account {
  id: number;
}

export interface NewExportJob {
  id: string;
  accountId: number;
  name: string;
  format: ExportFormat;
  compression: Compression;
  webhookUrl: string;
  /** The endpoint the completion webhook goes to (an implicit one per account, URL and scheme). */
  endpointId: string;
  datasetKey: string;
  /** The query exactly as the client sent it (the webhook echoes it as `payload`). */
  query: unknown;
  hmacSignature: string;
  requestedAt: Date;
  /** Also call the webhook URL when the export fails for good. */
  notifyOnFailure: boolean;
  /** Split into parts past these limits; null for one file. */
  split: { maxFileRows?: number; maxFileBytes?: number } | null;
}

/** One stored file of an export (an export split by size or rows has several parts). */
export interface ExportFile {
  objectKey: string;
  fileName: string;
  contentType: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface ExportResult {
  /** In order; one unless the export was split. */
  files: ExportFile[];
  /** With several files: the manifest (name, rows, bytes, sha256 per file) stored beside them. */
  manifest: ExportFile | null;
  numberRows: number;
  /** All files together. */
  bytes: number;
  timeTakenMs: number;
  finishedAt: Date;
  expiresAt: Date;
  /** The source encoded the file itself (COPY) rather than Ferry's Arrow path. */
  pushdown: boolean;
}

export interface ExportJob extends NewExportJob {
  state: ExportState;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
  progressRows: number;
  progressBytes: number;
  result: ExportResult | null;
  error: string | null;
  downloads: number;
}

export interface EndpointSecret {
  value: string;
  /** When a rotated-out secret stops signing; null for the current one. */
  expiresAt: Date | null;
}

export interface NewEndpoint {
  id: string;
  accountId: number;
  url: string;
  scheme: SigningScheme;
  /** Null for the seed scheme, which is keyed by the API key. */
  secret: string | null;
  /** Event type filters (`export.completed`, `export.*`, `*`); null for an export's own webhook URL. */
  events: string[] | null;
  description: string | null;
  /** Registered through the API (receives events), or implicit (an export's `webhookURL`). */
  registered: boolean;
  /** Retry delays in ms; null means the default schedule. */
  scheduleMs: number[] | null;
}

export interface Endpoint extends Omit<NewEndpoint, 'secret'> {
  /** Newest first. */
  secrets: EndpointSecret[];
  enabled: boolean;
  disabledReason: string | null;
  /** Start of the current run of failures; null while healthy. */
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface EndpointPatch {
  url?: string;
  events?: string[];
  enabled?: boolean;
  description?: string | null;
  scheduleMs?: number[] | null;
}

/** An event as stored and as sent: `body` is the JSON envelope, final bytes. */
export interface NewEvent {
  id: string;
  accountId: number;
  type: string;
  created: Date;
  exportId: string | null;
  body: string;
}

export interface NewDelivery {
  id: string;
  accountId: number;
  endpointId: string;
  /** Sent as `webhook-id`; the same across retries and redeliveries (the event id for events). */
  messageId: string;
  exportId: string | null;
  eventType: string;
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
  lastStatus: number | null;
  url: string;
}

/** A delivery claimed for an attempt, with what is needed to send and judge it. */
export interface ClaimedDelivery extends Delivery {
  endpoint: Endpoint;
  /** Attempts since the last (re)delivery started: the position in the retry schedule. */
  retryIndex: number;
}

export interface AttemptRecord {
  at: Date;
  durationMs: number;
  status: number | null;
  error: string | null;
  responseBody: string | null;
}

export interface AttemptOutcome {
  deliveryId: string;
  attempt: AttemptRecord;
  next: { state: 'succeeded' | 'failed' } | { state: 'pending'; nextAttemptAt: Date };
  /** Disable the endpoint (410 Gone, or failing too long); the event is recorded only if this disables it. */
  disableEndpoint?: { reason: string; event: NewEvent };
}

export interface DeliveryQuery {
  state?: DeliveryState;
  endpointId?: string;
  since?: Date;
  /** Delivery id to continue after (pages go oldest to newest). */
  startingAfter?: string;
  limit: number;
}

export interface EventQuery {
  type?: string;
  since?: Date;
  startingAfter?: string;
  limit: number;
}

export interface DownloadRecord {
  exportId: string;
  at: Date;
  bytes: number;
  client: string;
  range: string | null;
}

/**
 * Durable state: accounts, export jobs (lease-based claims), endpoints, events and the webhook
 * outbox with its attempt log. Every method that changes several things changes them in one
 * transaction; events passed alongside a state change are committed with it and fanned out to the
 * account's subscribed endpoints in that same transaction (the outbox).
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

  enqueueExport(job: NewExportJob, events: NewEvent[]): Promise<ExportJob>;
  getExport(id: string): Promise<ExportJob | null>;
  /** Claim the oldest due export whose lease is free or expired. Increments `attempts`. */
  claimExport(owner: string, leaseMs: number): Promise<ExportJob | null>;
  /** Extend the lease and record progress; false when the lease was lost. */
  heartbeatExport(id: string, owner: string, leaseMs: number, progress: { rows: number; bytes: number }): Promise<boolean>;
  /** Mark completed, queue its deliveries and events, in one transaction. False when the lease was lost. */
  completeExport(id: string, owner: string, result: ExportResult, deliveries: NewDelivery[], events: NewEvent[]): Promise<boolean>;
  /** `retryAt` set: back to queued for a later attempt; otherwise failed for good, with its events. */
  failExport(
    id: string,
    owner: string,
    reason: string,
    outcome: { retryAt: Date } | { events: NewEvent[]; deliveries?: NewDelivery[] },
  ): Promise<void>;
  /** Give the job back without counting the attempt (graceful shutdown). */
  releaseExport(id: string, owner: string): Promise<void>;
  /**
   * Stop a queued or running export: it becomes failed with `reason`, its events are recorded, and
   * a running worker loses its lease (it notices at its next heartbeat). False if it had already ended.
   */
  cancelExport(id: string, reason: string, events: NewEvent[]): Promise<boolean>;

  /** The endpoint for an export's webhook URL: one per account, URL and scheme; re-enabled if it was disabled. */
  ensureImplicitEndpoint(accountId: number, url: string, scheme: SigningScheme, createSecret: () => string | null): Promise<Endpoint>;
  createEndpoint(endpoint: NewEndpoint): Promise<Endpoint>;
  getEndpoint(id: string): Promise<Endpoint | null>;
  listEndpoints(accountId: number): Promise<Endpoint[]>;
  updateEndpoint(id: string, patch: EndpointPatch): Promise<Endpoint | null>;
  /** Deletes the endpoint; its pending deliveries fail. */
  deleteEndpoint(id: string): Promise<boolean>;
  /** The new secret signs from now on; the previous one until `previousExpiresAt`. */
  rotateEndpointSecret(id: string, secret: string, previousExpiresAt: Date): Promise<Endpoint | null>;

  /** Record events (and fan them out) outside any job change, e.g. `export.downloaded`. */
  emitEvents(events: NewEvent[]): Promise<void>;
  listEvents(accountId: number, query: EventQuery): Promise<NewEvent[]>;

  /** Claim up to `limit` due pending deliveries under a lease. */
  claimDeliveries(owner: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Record attempts and the deliveries' next states (and endpoint health) in one transaction. */
  recordAttempts(owner: string, outcomes: AttemptOutcome[]): Promise<void>;
  /** `recordAttempts` then `claimDeliveries`, in one transaction: one commit per batch on the hot path. */
  settleAndClaim(owner: string, outcomes: AttemptOutcome[], limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  getDelivery(id: string): Promise<(Delivery & { attemptLog: AttemptRecord[] }) | null>;
  listDeliveries(accountId: number, query: DeliveryQuery): Promise<Delivery[]>;
  /** Send a delivery again, same id, from the start of its schedule. False when unknown. */
  redeliver(id: string): Promise<boolean>;
  /** Redeliver every failed delivery of the account created since `since`; returns how many. */
  recoverDeliveries(accountId: number, since: Date): Promise<number>;
  deliveryCounts(accountId: number): Promise<Record<DeliveryState, number>>;

  recordDownload(download: DownloadRecord, events: NewEvent[]): Promise<void>;

  /** Completed exports whose retention ended before `before` (oldest first). */
  listExpiredExports(before: Date, limit: number): Promise<ExportJob[]>;
  /** After its file is deleted: the export is `expired` and its links answer 410. */
  markExportExpired(id: string): Promise<void>;
  /** Drop events created before `before` (the event feed keeps 30 days); returns how many. */
  purgeEvents(before: Date): Promise<number>;

  close(): Promise<void>;

  // ------------------------------------------------------------ dataset versions and schedules (docs/versions.md)

  /**
   * Record a published version and its events in one transaction. `events` is called inside it
   * with every account id (each account gets its own `dataset.version.published`, fanned out to its
   * subscribed endpoints). Null, and nothing recorded, when the dataset already has this version
   * number or the version before it is not `previousCursor` (a concurrent publish won).
   */
  recordDatasetVersion(version: NewDatasetVersion, events: (accountIds: readonly number[]) => NewEvent[]): Promise<DatasetVersion | null>;
  findDatasetVersion(datasetKey: string, lookup: VersionLookup): Promise<DatasetVersion | null>;
  listDatasetVersions(datasetKey: string, query: VersionListQuery): Promise<DatasetVersion[]>;
  /** After its files are deleted: the version's cursor answers 410 from then on. */
  markDatasetVersionPruned(datasetKey: string, versionNumber: number): Promise<void>;

  /** Insert, or for an existing id replace cron/name/body (keeping `nextRunAt` unless the cron changed). */
  upsertSchedule(schedule: NewSchedule): Promise<Schedule>;
  getSchedule(id: string): Promise<Schedule | null>;
  listSchedules(filter: { accountId?: number; kind?: ScheduleKind }): Promise<Schedule[]>;
  deleteSchedule(id: string): Promise<boolean>;
  /** Schedules with `nextRunAt <= now`, earliest first. */
  listDueSchedules(now: Date, limit: number): Promise<Schedule[]>;
  /**
   * Take one tick: compare-and-set `nextRunAt` from `tick` to `next` (and `lastRunAt` to `at`).
   * True for exactly one caller per tick, however many schedulers race.
   */
  claimScheduleTick(id: string, tick: Date, next: Date, at: Date): Promise<boolean>;
}
