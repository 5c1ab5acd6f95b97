import type { Compression, ExportState } from './export.js';
import type { SigningScheme } from './contracts.js';
import type { DatasetVersion, NewDatasetVersion, NewSchedule, Schedule, ScheduleKind, VersionListQuery, VersionLookup } from './versions.js';

/**
 * The job store: Ferry's durable state, split by concern. A job store is persistence and
 * atomicity only. Every business rule (which endpoints an event fans out to, when an endpoint is
 * disabled, ids, retry decisions, secret rotation) lives in `@ferry/engine`, which composes one
 * atomic change from several parts with `transaction`. A new job store is tables and queries.
 *
 * Conventions every part follows:
 * - Times are `Date`s; the store compares them with its own clock (`now`) where a method says "due".
 * - "Owner" guards: a method that takes `owner` changes a row only while that owner holds its lease,
 *   and says whether it did; a worker that lost its lease changes nothing.
 * - Methods called on the store itself run in a transaction of their own; methods called on the
 *   parts handed to `transaction`'s callback share that one transaction.
 */

// ---------------------------------------------------------------- accounts and keys

export interface Account {
  id: number;
}

export interface AccountRecord extends Account {
  name: string | null;
  createdAt: Date;
}

export interface NewApiKey {
  /** Public id (`key_...`), used to list and revoke. */
  id: string;
  accountId: number;
  /** SHA-256 of the key; the key itself is never stored. */
  keyHash: string;
  /** The first characters of the key, shown in listings so a person can tell keys apart. */
  prefix: string;
  createdAt: Date;
}

export interface ApiKeyRecord extends Omit<NewApiKey, 'keyHash'> {
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface AccountsPart {
  create(account: { name: string | null; createdAt: Date }): Promise<AccountRecord>;
  get(id: number): Promise<AccountRecord | null>;
  /** Oldest first. */
  list(): Promise<AccountRecord[]>;
  /** The default account: the one with the lowest id; null when there is none yet. */
  first(): Promise<AccountRecord | null>;
  /** False, and nothing stored, when a key with this hash exists already. */
  addKey(key: NewApiKey): Promise<boolean>;
  /** A key by hash, revoked or not. */
  findKey(keyHash: string): Promise<ApiKeyRecord | null>;
  getKey(id: string): Promise<ApiKeyRecord | null>;
  /** The account's keys, revoked ones included, oldest first. */
  listKeys(accountId: number): Promise<ApiKeyRecord[]>;
  /** True when this call revoked it (false: unknown or already revoked). */
  revokeKey(id: string, at: Date): Promise<boolean>;
  touchKey(id: string, at: Date): Promise<void>;
  /** Keys not revoked, across all accounts. */
  countActiveKeys(): Promise<number>;
}

// ---------------------------------------------------------------- settings

export interface SettingsPart {
  get(name: string): Promise<string | null>;
  /** Store `value` unless `name` has one; returns the stored value (first writer wins, across processes). */
  putIfAbsent(name: string, value: string): Promise<string>;
  /** Overwrite. */
  put(name: string, value: string): Promise<void>;
}

// ---------------------------------------------------------------- exports

export interface NewExportJob {
  id: string;
  accountId: number;
  name: string;
  /** A configured format slot's name. */
  format: string;
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

export interface ExportListQuery {
  state?: ExportState;
  /** Export id to continue after (pages go newest to oldest). */
  startingAfter?: string;
  limit: number;
}

export interface ExportClaim {
  limit: number;
  leaseMs: number;
  /** No account gets more than this many exports running at once (across all workers). */
  maxRunningPerAccount: number;
}

export interface DownloadRecord {
  exportId: string;
  at: Date;
  bytes: number;
  client: string;
  range: string | null;
}

export interface QueueStats {
  /** Due now and not leased. */
  due: number;
  /** Leased by a live worker. */
  inFlight: number;
  /** When the oldest due item became due; null when none is. */
  oldestDueAt: Date | null;
}

export interface ExportsPart {
  insert(job: NewExportJob): Promise<void>;
  get(id: string): Promise<ExportJob | null>;
  /** The account's exports, newest first. */
  list(accountId: number, query: ExportListQuery): Promise<ExportJob[]>;
  /**
   * Claim up to `limit` due exports: queued ones whose `runAfter` has passed, and running ones
   * whose lease ran out (their worker died). Each claim increments `attempts`, resets progress,
   * sets `startedAt`, and leases the export to `owner` for `leaseMs`. Fair across accounts: exports
   * are taken in order of (the account's live running exports + the export's rank within its
   * account's due exports), then age, so an account's first export goes before another account's
   * second; no account exceeds `maxRunningPerAccount` live running exports. Concurrent claimers
   * never get the same export.
   */
  claim(owner: string, claim: ExportClaim): Promise<ExportJob[]>;
  /** Extend the lease and record progress; false when the lease was lost (or the export ended). */
  heartbeat(id: string, owner: string, leaseMs: number, progress: { rows: number; bytes: number }): Promise<boolean>;
  /** Running -> completed with its result (progress becomes the result's rows and bytes). */
  complete(id: string, owner: string, result: ExportResult): Promise<boolean>;
  /** Running -> queued again, due at `runAfter`, with `error` kept as the last reason. */
  retryLater(id: string, owner: string, error: string, runAfter: Date): Promise<boolean>;
  /** Running -> queued at once without counting the attempt (graceful shutdown). */
  release(id: string, owner: string): Promise<boolean>;
  /**
   * -> failed with `error`, finished now. With an owner: only while it holds the lease. With
   * `owner` null (a cancel): from queued or running, whoever holds it; its worker notices at the
   * next heartbeat.
   */
  fail(id: string, owner: string | null, error: string): Promise<boolean>;
  /** Log a download and count it on the export. */
  recordDownload(download: DownloadRecord): Promise<void>;
  /** Completed exports whose `expiresAt` is at or before `before`, oldest expiry first. */
  listExpired(before: Date, limit: number): Promise<ExportJob[]>;
  /** Completed -> expired. */
  markExpired(id: string): Promise<boolean>;
  /** Counts by state (every state present, zero when none). */
  countByState(accountId?: number): Promise<Record<ExportState, number>>;
  /** The export queue: due = queued and past `runAfter` (or running on a dead lease). */
  queueStats(): Promise<QueueStats>;
}

// ---------------------------------------------------------------- endpoints

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
  /** Newest first; empty for the seed scheme, which is keyed by the API key. */
  secrets: EndpointSecret[];
  /** Event type filters (`export.completed`, `export.*`, `*`); null for an export's own webhook URL. */
  events: string[] | null;
  description: string | null;
  /** Registered through the API (receives events), or implicit (an export's `webhookURL`). */
  registered: boolean;
  /** Retry delays in ms; null means the default schedule. */
  scheduleMs: number[] | null;
  createdAt: Date;
}

export interface Endpoint extends NewEndpoint {
  enabled: boolean;
  disabledReason: string | null;
  /** Start of the current run of failures; null while healthy. */
  failingSince: Date | null;
  updatedAt: Date;
}

/** Fields set as given; absent fields stay. */
export interface EndpointChanges {
  url?: string;
  events?: string[];
  description?: string | null;
  scheduleMs?: number[] | null;
  secrets?: EndpointSecret[];
  enabled?: boolean;
  disabledReason?: string | null;
  failingSince?: Date | null;
  updatedAt: Date;
}

export interface EndpointsPart {
  insert(endpoint: NewEndpoint): Promise<void>;
  get(id: string): Promise<Endpoint | null>;
  /** The implicit endpoint for an account, URL and scheme (at most one exists). */
  findImplicit(accountId: number, url: string, scheme: SigningScheme): Promise<Endpoint | null>;
  /** Registered endpoints of the account, oldest first. */
  listRegistered(accountId: number): Promise<Endpoint[]>;
  /** Registered and enabled endpoints of the account: the candidates for its events. */
  listSubscribers(accountId: number): Promise<Endpoint[]>;
  update(id: string, changes: EndpointChanges): Promise<Endpoint | null>;
  delete(id: string): Promise<boolean>;
  /** Enabled -> disabled with `reason`; true only for the call that disabled it. */
  disable(id: string, reason: string, at: Date): Promise<boolean>;
  /** Start a run of failures at `since` unless one is running. */
  markFailing(id: string, since: Date): Promise<void>;
  /** End the run of failures of each endpoint, in one statement (a delivery batch settles many endpoints at once). */
  markHealthy(ids: readonly string[]): Promise<void>;
}

// ---------------------------------------------------------------- events

/** An event as stored and as sent: `body` is the JSON envelope, final bytes. */
export interface NewEvent {
  id: string;
  accountId: number;
  type: string;
  created: Date;
  exportId: string | null;
  body: string;
}

export interface EventQuery {
  type?: string;
  since?: Date;
  /** Event id to continue after (pages go oldest to newest). */
  startingAfter?: string;
  limit: number;
}

export interface EventsPart {
  /** Store events in order; an id stored before is skipped. Returns the ones stored now. */
  insert(events: readonly NewEvent[]): Promise<NewEvent[]>;
  get(id: string): Promise<NewEvent | null>;
  /** Oldest first; `type` may end in `.*` for a family. */
  list(accountId: number, query: EventQuery): Promise<NewEvent[]>;
  /** Delete events created before `before`; returns how many. */
  purge(before: Date): Promise<number>;
}

// ---------------------------------------------------------------- deliveries (the outbox)

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
  createdAt: Date;
}

export type DeliveryState = 'pending' | 'succeeded' | 'failed';

export interface Delivery extends NewDelivery {
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  lastStatus: number | null;
  /** The endpoint's URL. */
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

export interface DeliverySettlement {
  deliveryId: string;
  attempt: AttemptRecord;
  next: { state: 'succeeded' | 'failed' } | { state: 'pending'; nextAttemptAt: Date };
}

/** A delivery `settle` recorded, with its endpoint as it stood then. */
export interface SettledDelivery {
  deliveryId: string;
  endpointId: string;
  accountId: number;
  /** The endpoint has a run of failures (`failingSince` set), as read by the settlement. */
  endpointFailing: boolean;
}

export interface DeliveryClaim {
  limit: number;
  leaseMs: number;
  /** No endpoint gets more than this many deliveries in flight at once (across all workers): leased and not `settling`. */
  maxInFlightPerEndpoint: number;
  /**
   * Deliveries this owner leased whose attempts have ended but whose settlement is not committed
   * yet. They keep their leases (nobody else may take them) but no longer occupy a receiver, so
   * they do not count against the cap: an endpoint's next deliveries need not wait for the
   * previous batch's commit. Ids this owner does not hold count as usual.
   */
  settling?: readonly string[];
}

export interface DeliveryQuery {
  state?: DeliveryState;
  endpointId?: string;
  exportId?: string;
  since?: Date;
  /** Delivery id to continue after (pages go oldest to newest). */
  startingAfter?: string;
  limit: number;
}

export interface DeliveriesPart {
  /** Queue deliveries, due now; an id stored before is skipped. */
  insert(deliveries: readonly NewDelivery[]): Promise<void>;
  /**
   * Lease up to `limit` due pending deliveries (next attempt due, lease free or run out), earliest
   * due first, no endpoint beyond `maxInFlightPerEndpoint` live leases (the owner's `settling` ones
   * aside). Each comes with its endpoint.
   */
  claim(owner: string, claim: DeliveryClaim): Promise<ClaimedDelivery[]>;
  /**
   * Record attempts: log each, count it, move the delivery to its next state and free the lease,
   * atomically (one statement where the database allows). Only deliveries `owner` still holds are
   * settled; returns those, in the order given, with their endpoints.
   */
  settle(owner: string, settlements: readonly DeliverySettlement[]): Promise<SettledDelivery[]>;
  get(id: string): Promise<(Delivery & { attemptLog: AttemptRecord[] }) | null>;
  /** The account's deliveries, oldest first. */
  list(accountId: number, query: DeliveryQuery): Promise<Delivery[]>;
  /** Pending again, due now, from the start of its schedule (same id). False when unknown. */
  redeliver(id: string): Promise<boolean>;
  /** Redeliver every failed delivery of the account created at or after `since`; returns how many. */
  recover(accountId: number, since: Date): Promise<number>;
  /** Pending deliveries of an endpoint -> failed with `error` (the endpoint is going away). */
  failPending(endpointId: string, error: string): Promise<number>;
  /** Counts by state (every state present). */
  countByState(accountId?: number): Promise<Record<DeliveryState, number>>;
  /** The delivery queue: due = pending, next attempt due, not leased. */
  queueStats(): Promise<QueueStats>;
}

// ---------------------------------------------------------------- dataset versions and schedules (docs/versions.md)

export interface VersionsPart {
  /**
   * Record a version if it is the next one: its number follows the dataset's latest and its
   * `previousCursor` is the latest's cursor (null for the first). False, and nothing stored, when
   * a concurrent publish got there first.
   */
  insert(version: NewDatasetVersion): Promise<boolean>;
  find(datasetKey: string, lookup: VersionLookup): Promise<DatasetVersion | null>;
  list(datasetKey: string, query: VersionListQuery): Promise<DatasetVersion[]>;
  /** After its files are deleted: the version's cursor answers 410 from then on. */
  markPruned(datasetKey: string, versionNumber: number, at: Date): Promise<void>;
}

export interface SchedulesPart {
  /** Insert, or for an existing id replace kind/account/name/dataset/cron/body, keeping `nextRunAt` unless the cron changed. */
  upsert(schedule: NewSchedule): Promise<Schedule>;
  get(id: string): Promise<Schedule | null>;
  /** Oldest first. */
  list(filter: { accountId?: number; kind?: ScheduleKind }): Promise<Schedule[]>;
  delete(id: string): Promise<boolean>;
  /** Schedules with `nextRunAt <= now`, earliest first. */
  listDue(now: Date, limit: number): Promise<Schedule[]>;
  /** Compare-and-set `nextRunAt` from `tick` to `next` (and `lastRunAt` to `at`): true for exactly one caller per tick. */
  claimTick(id: string, tick: Date, next: Date, at: Date): Promise<boolean>;
}

// ---------------------------------------------------------------- the store

export interface JobStoreParts {
  readonly accounts: AccountsPart;
  readonly settings: SettingsPart;
  readonly exports: ExportsPart;
  readonly endpoints: EndpointsPart;
  readonly events: EventsPart;
  readonly deliveries: DeliveriesPart;
  readonly versions: VersionsPart;
  readonly schedules: SchedulesPart;
}

/** Kinds of work a store can announce: new exports to claim, new deliveries to send. */
export type WorkKind = 'exports' | 'deliveries';

export interface JobStore extends JobStoreParts {
  readonly name: string;
  /**
   * Run `fn` in one transaction: everything done through the parts it is given commits together,
   * or, when `fn` throws, not at all (and the error is rethrown). Inside `fn`, use only those parts.
   */
  transaction<T>(fn: (tx: JobStoreParts) => Promise<T>): Promise<T>;
  /**
   * Call `listener` soon after another transaction (in any process sharing the store, where the
   * store can tell) commits new work of `kind`. A hint only: workers still poll. Returns an unsubscribe.
   */
  onWork?(kind: WorkKind, listener: () => void): () => void;
  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
