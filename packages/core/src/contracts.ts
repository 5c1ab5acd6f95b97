import type { RecordBatch, Schema } from 'apache-arrow';
import type { ResolvedQuery } from './catalog.js';
import type { FieldPath } from './errors.js';

// ---------------------------------------------------------------- source

/** Rows of one query: the schema first (a zero-row result still has one), then Arrow batches. */
export interface RowStream {
  schema: Schema;
  batches: AsyncIterable<RecordBatch>;
}

/**
 * A format a source may write itself (pushdown), named as the format writer that asks for it
 * (`FormatWriter.pushdown`): `csv`, `jsonl`, `parquet`, or a name a source plugin and a format
 * plugin agree on. A source answers null for a name it does not know.
 */
export type NativeFormat = string;

/** A pushed-down export: the encoded file, reading back as what the Arrow path and the format writer give (see `exportNative`). */
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
   * Optional pushdown: the database encodes the file itself (COPY). The file must read back equal
   * to what `open` + the format writer that asked for `format` produce: the same rows, values and
   * column types (PostgreSQL's csv and jsonl pushdowns promise more: the same bytes). A source returns
   * null for a format it does not write, or a query it cannot promise that for (the engine then
   * uses `open`). Breaking out of `body` or aborting `signal` cancels the query.
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
   * The pushdown format whose file reads back as this writer's output (typically with the writer's
   * default options only); the engine then lets a source that writes it encode the file.
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

/** A type, not an interface, so a plugin definition's `capabilities` can be one of these. */
export type StoreCapabilities = {
  signedUrls: boolean;
  rangeReads: boolean;
  multipart: boolean;
};

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

/** One message to send: the body is final bytes. */
export interface OutgoingMessage {
  /**
   * Durable: the same on every retry and redelivery (the event id for events), so whoever receives
   * it can drop repeats (a webhook's `webhook-id`, NATS JetStream's `Nats-Msg-Id`).
   */
  id: string;
  /** The delivery's endpoint: a webhook's URL; for an operator's event sink, `ferry-sink://<name>`. */
  url: string;
  body: string;
  /** For webhooks these include the seed signature. */
  headers: Record<string, string>;
  /** The account and event type the message announces: notifiers that route by topic need them. Every outbox delivery has them. */
  event?: { accountId: number; type: string };
}

/** A webhook's message: the `url` is the receiver. */
export type OutgoingWebhook = OutgoingMessage;

export interface DeliveryResult {
  /** True only once the receiver (or broker) has taken the message for good; then it is not sent again. */
  ok: boolean;
  /** An HTTP status, for notifiers that speak HTTP. */
  status?: number;
  /** Worth another attempt (timeouts, 5xx, 429, a broker that is down); false for e.g. a refused target. */
  retryable: boolean;
  /** Hint from Retry-After, in milliseconds. */
  retryAfterMs?: number;
  durationMs: number;
  /** First 4 KiB of the answer (a response body, a broker's acknowledgement), for the attempt log. */
  responseBody?: string;
  error?: string;
}

export interface DeliverOptions {
  signal?: AbortSignal;
  /** The whole attempt, connecting included. */
  timeoutMs?: number;
}

/**
 * What every notifier does: one attempt to hand over one message under its durable id. `deliver`
 * never throws for a failed send; the result says whether another attempt is worth it. The outbox
 * marks a delivery sent only after `ok`, so a crash in between repeats the attempt with the same id.
 */
export interface Notifier {
  readonly name: string;
  deliver(message: OutgoingMessage, opts: DeliverOptions): Promise<DeliveryResult>;
  /** Release connections; nothing is delivered afterwards. Calling it again does nothing. */
  close?(): Promise<void>;
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

/**
 * The webhook-only rules the engine applies when a client names a URL: which targets are allowed
 * (SSRF), the seed signature, endpoint secrets. Implemented by the notifier in the `notifier` slot.
 */
export interface WebhookSecurity {
  /** Refuse a target at submit time (scheme, non-global address). Throws INVALID_WEBHOOK_URL at `path`. */
  validateTarget(url: string, path: FieldPath): Promise<void>;
  /** The seed scheme: hex HMAC-SHA256 of `JSON.stringify(payload)` keyed by `key`. */
  signPayload(key: string, payload: unknown): string;
  /** A new endpoint secret for `scheme` (e.g. `whsec_` + 32 random bytes). */
  createSecret(scheme: SigningScheme): string;
}

export interface WebhookDeliverOptions extends DeliverOptions {
  /** Sign per the endpoint's scheme, at send time (Standard Webhooks timestamps must be fresh). */
  signing?: SigningSpec;
}

/** The notifier that POSTs to endpoints' URLs: never follows redirects; re-checks the resolved address at connect time. */
export interface WebhookNotifier extends Notifier, WebhookSecurity {
  deliver(message: OutgoingWebhook, opts: WebhookDeliverOptions): Promise<DeliveryResult>;
}

/** Whether a notifier can serve as the webhook notifier (the config's `notifier` slot). */
export function isWebhookNotifier(notifier: Notifier): notifier is WebhookNotifier {
  const n = notifier as Partial<WebhookSecurity>;
  return typeof n.validateTarget === 'function' && typeof n.signPayload === 'function' && typeof n.createSecret === 'function';
}
