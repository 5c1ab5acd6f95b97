import { z } from 'zod';
import { SIGNING_SCHEMES } from './contracts.js';

/** An event type filter: an exact name, a family wildcard (`export.*`) or `*`. */
export const EventFilter = z
  .string()
  .regex(/^(\*|[a-z]+(\.[a-z_]+)*(\.\*)?)$/, 'an event type like "export.completed", a family like "export.*", or "*"');

/** Retry delays, in seconds, for one endpoint (the default is immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
const RetrySchedule = z.array(z.number().min(0).max(7 * 86_400)).min(1).max(50);

/** `POST /webhooks/endpoints` */
export const EndpointCreate = z.strictObject({
  url: z.string().min(1).max(2048),
  events: z.array(EventFilter).min(1).max(100),
  /** `ferry-hmac` is the export webhook's scheme and needs an export's payload, so endpoints use the other two. */
  scheme: z.enum(SIGNING_SCHEMES).exclude(['ferry-hmac']).default('standard-webhooks'),
  description: z.string().max(500).optional(),
  retryScheduleSeconds: RetrySchedule.optional(),
});
export type EndpointCreate = z.infer<typeof EndpointCreate>;

/** `PATCH /webhooks/endpoints/:id` */
export const EndpointUpdate = z.strictObject({
  url: z.string().min(1).max(2048).optional(),
  events: z.array(EventFilter).min(1).max(100).optional(),
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
