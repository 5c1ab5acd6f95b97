import { z } from 'zod';
import { ErrorCodes, ExportState, SIGNING_SCHEMES, type ErrorCode } from '@ferry/core';

/**
 * The shapes of the API's answers. Routes declare them, so the OpenAPI document says exactly what
 * the server sends, and the serializer checks every answer against them.
 */

const time = z.iso.datetime();
const count = z.int().min(0);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      path: z.string().optional().describe('The offending field, e.g. `dataset.scopes[0].column` or `query.limit`.'),
      plugin: z.string().optional().describe('The plugin (`kind:name`) the error concerns.'),
    }),
  })
  .meta({ id: 'Error', description: 'Every error: a stable machine code, a message for people, and the path of the bad field where there is one.' });

export const Submitted = z
  .object({
    queryUUID: z.uuid(),
    webhookSecret: z.string().optional().describe('For `webhookScheme` standard-webhooks or secret-header: the secret the receiver verifies with, shown once.'),
  })
  .meta({ id: 'Submitted' });

const ExportFileView = z.object({ url: z.url(), fileName: z.string(), rows: count, bytes: count, sha256 });

export const ExportSummary = z
  .object({
    queryUUID: z.uuid(),
    name: z.string(),
    format: z.string(),
    dataset: z.string(),
    state: ExportState,
    requestedOn: time,
    startedOn: time.nullable(),
    completedOn: time.nullable(),
    attempts: count,
    progress: z.object({ rows: count, bytes: count }).describe('Rows read and bytes stored so far (updated every few seconds while running).'),
    numberRows: count.nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'ExportSummary' });

export const ExportStatus = ExportSummary.extend({
  download: z
    .object({ url: z.url(), expires: time, fileName: z.string(), bytes: count, sha256, downloads: count })
    .nullable()
    .describe('The (first) file, once completed.'),
  files: z.array(ExportFileView).describe('Every file; more than one when the export was split.'),
  manifestUrl: z.url().nullable(),
  encodedBy: z.enum(['source', 'ferry']).nullable().describe('`source`: the database encoded the file (pushdown); `ferry`: the Arrow path did.'),
  webhook: z.object({
    endpointId: z.string(),
    deliveries: z.array(
      z.object({
        id: z.string(),
        webhookId: z.string(),
        event: z.string(),
        state: z.enum(['pending', 'succeeded', 'failed']),
        attempts: count,
        lastStatus: z.int().nullable(),
        lastError: z.string().nullable(),
      }),
    ),
  }),
}).meta({ id: 'ExportStatus' });

export const Page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), hasMore: z.boolean() });

export const DatasetDescription = z
  .object({
    key: z.string(),
    description: z.string().nullable(),
    primaryKey: z.array(z.string()).nullable(),
    limits: z.looseObject({ maxRows: count }),
    columns: z.array(
      z.object({
        name: z.string(),
        type: z.string(),
        role: z.enum(['dimension', 'measure', 'time']),
        description: z.string().nullable(),
        aggregates: z.array(z.string()).describe('Aggregates this column allows.'),
        granularities: z.array(z.string()).describe('Time buckets this column allows (time columns only).'),
      }),
    ),
    formats: z.array(z.string()).describe('Output formats this install offers.'),
  })
  .meta({ id: 'Dataset' });

export const Catalog = z.object({ default: z.string().nullable(), datasets: z.array(DatasetDescription) }).meta({ id: 'Catalog' });

export const EndpointView = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()).nullable(),
    scheme: z.enum(SIGNING_SCHEMES),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    failingSince: time.nullable(),
    retryScheduleSeconds: z.array(z.number()).nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .meta({ id: 'Endpoint' });

export const CreatedEndpoint = EndpointView.extend({ secret: z.string().describe('The signing secret, shown only this once.') }).meta({ id: 'CreatedEndpoint' });

export const RotatedSecret = z.object({ id: z.string(), secret: z.string(), previousSecretExpiresAt: time }).meta({ id: 'RotatedSecret' });

export const DeliveryView = z
  .object({
    id: z.string(),
    webhookId: z.string().describe('Sent as `webhook-id`; the same across retries and redeliveries.'),
    endpointId: z.string(),
    url: z.string(),
    event: z.string(),
    exportId: z.string().nullable(),
    state: z.enum(['pending', 'succeeded', 'failed']),
    attempts: count,
    nextAttemptAt: time.nullable(),
    lastStatus: z.int().nullable(),
    lastError: z.string().nullable(),
    createdAt: time,
  })
  .meta({ id: 'Delivery' });

export const DeliveryDetail = DeliveryView.extend({
  attemptLog: z.array(
    z.object({ n: z.int().min(1), at: time, durationMs: count, status: z.int().nullable(), error: z.string().nullable(), responseBody: z.string().nullable() }),
  ),
}).meta({ id: 'DeliveryDetail' });

export const DeliveryStats = z.object({ stored: z.object({ pending: count, succeeded: count, failed: count }) }).meta({ id: 'DeliveryStats' });

export const EventEnvelope = z
  .looseObject({ type: z.string(), id: z.string(), created: z.int().describe('Unix seconds.'), data: z.record(z.string(), z.unknown()) })
  .meta({ id: 'Event', description: 'An event exactly as it was sent to endpoints (seed 004 envelope; seed 002 for dataset.version.published).' });

export const VersionView = z
  .looseObject({
    dataset_key: z.string(),
    version_number: z.int().min(1),
    cursor: z.string(),
    previous_cursor: z.string().nullable(),
    changed_row_count: count,
    row_count: count,
    published_at: time,
    pull_deltas_url: z.url(),
    snapshot_url: z.url(),
    requires_snapshot: z.boolean(),
    pruned_at: time.nullable(),
  })
  .meta({ id: 'DatasetVersion', description: "seed 002's fields, the dataset's counters among them, and when the version was pruned." });

export const ScheduleView = z
  .object({
    id: z.string(),
    name: z.string(),
    cron: z.string(),
    dataset: z.string(),
    request: z.record(z.string(), z.unknown()).describe('The export request as submitted (without `cron`).'),
    nextRunAt: time,
    lastRunAt: time.nullable(),
    createdAt: time,
  })
  .meta({ id: 'Schedule' });

export const AccountView = z.object({ id: z.int().min(1), name: z.string().nullable(), createdAt: time }).meta({ id: 'Account' });

export const KeyView = z
  .object({ id: z.string(), prefix: z.string().describe('The first characters of the key, to tell keys apart.'), createdAt: time, lastUsedAt: time.nullable(), revokedAt: time.nullable() })
  .meta({ id: 'ApiKey' });

export const CreatedKey = z.object({ id: z.string(), key: z.string().describe('The API key, shown only this once.'), prefix: z.string(), createdAt: time }).meta({ id: 'CreatedKey' });

export const Health = z.object({ status: z.literal('ok') });

export const Readiness = z
  .object({
    status: z.enum(['ready', 'unready']),
    checks: z.array(z.object({ part: z.string(), ok: z.boolean(), error: z.string().optional() })),
  })
  .meta({ id: 'Readiness' });
