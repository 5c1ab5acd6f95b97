import { z } from 'zod';
import { SIGNING_SCHEMES } from './contracts.js';
import { EVENT_TYPES } from './events.js';

/** Longest event type filter: every known type is far shorter, and filters are matched on every event. */
export const MAX_EVENT_FILTER_LENGTH = 64;
/** Most filters on one endpoint: enough to list every type a few times over, bounded because fan-out scans them. */
export const MAX_EVENT_FILTERS = 32;

/** `export`, `endpoint`, `dataset`, `dataset.version`: every dotted prefix of a known type. */
const EVENT_FAMILIES: ReadonlySet<string> = new Set(
  EVENT_TYPES.flatMap((type) => {
    const parts = type.split('.');
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);

/** True for a filter that can match some event Ferry sends: a known type, `family.*` of a known family, or `*`. */
export function isKnownEventFilter(filter: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) return EVENT_FAMILIES.has(filter.slice(0, -2));
  return (EVENT_TYPES as readonly string[]).includes(filter);
}

const KNOWN_FILTERS_HINT = `known types: ${EVENT_TYPES.join(', ')}; or a family such as "export.*", or "*"`;

/** An event type filter: an exact name, a family wildcard (`export.*`) or `*`; names no event has are refused. */
export const EventFilter = z
  .string()
  .max(MAX_EVENT_FILTER_LENGTH, `an event type filter has at most ${MAX_EVENT_FILTER_LENGTH} characters`)
  .refine(isKnownEventFilter, {
    // The value is echoed (it is at most 64 characters) so the client sees which entry was wrong.
    error: (issue) => `unknown event type ${JSON.stringify(issue.input)}; ${KNOWN_FILTERS_HINT}`,
  });

const EventFilters = z.array(EventFilter).min(1).max(MAX_EVENT_FILTERS, `at most ${MAX_EVENT_FILTERS} event type filters`);

/** Retry delays, in seconds, for one endpoint (the default is immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
const RetrySchedule = z.array(z.number().min(0).max(7 * 86_400)).min(1).max(50);

/** `POST /webhooks/endpoints` */
export const EndpointCreate = z.strictObject({
  url: z.string().min(1).max(2048),
  events: EventFilters,
  /** `ferry-hmac` is the export webhook's scheme and needs an export's payload, so endpoints use the other two. */
  scheme: z.enum(SIGNING_SCHEMES).exclude(['ferry-hmac']).default('standard-webhooks'),
  description: z.string().max(500).optional(),
  retryScheduleSeconds: RetrySchedule.optional(),
});
export type EndpointCreate = z.infer<typeof EndpointCreate>;

/** `PATCH /webhooks/endpoints/:id` */
export const EndpointUpdate = z.strictObject({
  url: z.string().min(1).max(2048).optional(),
  events: EventFilters.optional(),
  enabled: z.boolean().optional(),
  description: z.string().max(500).nullable().optional(),
  retryScheduleSeconds: RetrySchedule.nullable().optional(),
});
export type EndpointUpdate = z.infer<typeof EndpointUpdate>;

const Limit = z.coerce.number().int().min(1).max(1000).default(100);
const Since = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

export const DeliveryListQuery = z.strictObject({
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
  endpoint: z.string().optional(),
  since: Since.optional(),
  starting_after: z.string().optional(),
  limit: Limit,
});

export const EventListQuery = z.strictObject({
  type: EventFilter.optional(),
  since: Since.optional(),
  starting_after: z.string().optional(),
  limit: Limit,
});

export const RecoverRequest = z.strictObject({ since: Since });
