import { z } from 'zod';

/** One NATS token: what may sit between the dots of a subject without meaning a wildcard. */
const TOKEN = '[A-Za-z0-9_-]+';
export const SUBJECT_PREFIX = new RegExp(`^${TOKEN}(\\.${TOKEN})*$`);

// `nats://` or `tls://` (credentials in the URL are allowed, and never logged), or a bare host:port.
const server = z
  .string()
  .regex(/^((nats|tls):\/\/)?[^\s/]+(:\d{1,5})?$/, 'a NATS server such as nats://127.0.0.1:4222, tls://nats.internal:4222 or host:port');

export const DEFAULTS = {
  servers: ['nats://127.0.0.1:4222'],
  stream: 'FERRY_EVENTS',
  subjectPrefix: 'ferry',
  /** Long enough for a lease that ran out (timeout + 5 s) and the first two retries (5 s, 5 min) to be recognised. */
  duplicateWindowMs: 600_000,
  connectTimeoutMs: 5_000,
  /** A delivery attempt with no timeout of its own (the delivery worker always passes one). */
  timeoutMs: 15_000,
} as const;

export const natsOptionsSchema = z
  .strictObject({
    servers: z
      .union([server, z.array(server).min(1)])
      .default([...DEFAULTS.servers])
      .transform((s) => (typeof s === 'string' ? [s] : s)),
    /** JetStream stream names allow no dots, spaces or wildcards. */
    stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -').default(DEFAULTS.stream),
    /** Subjects are `<subjectPrefix>.<accountId>.<event type>`. */
    subjectPrefix: z.string().max(128).regex(SUBJECT_PREFIX, 'dot-separated tokens of letters, digits, _ and - (no wildcards)').default(DEFAULTS.subjectPrefix),
    /** Create the stream (capturing `<subjectPrefix>.>`) when it does not exist. An existing stream is never changed. */
    createStream: z.boolean().default(true),
    /** For a stream Ferry creates: how long JetStream remembers a message id to drop a repeat. */
    duplicateWindowMs: z.int().min(1_000).max(7 * 86_400_000).default(DEFAULTS.duplicateWindowMs),
    /** For a stream Ferry creates: drop messages older than this (default: kept until removed). */
    maxAgeMs: z.int().min(60_000).optional(),
    /** For a stream Ferry creates: copies in a NATS cluster. */
    replicas: z.int().min(1).max(5).default(1),
    connectTimeoutMs: z.int().min(100).max(120_000).default(DEFAULTS.connectTimeoutMs),
    user: z.string().min(1).optional(),
    pass: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
  })
  .superRefine((o, ctx) => {
    if ((o.user === undefined) !== (o.pass === undefined)) ctx.addIssue({ code: 'custom', path: [o.user === undefined ? 'user' : 'pass'], message: 'user and pass go together' });
    if (o.token !== undefined && o.user !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'use a token or user and pass, not both' });
    if (o.maxAgeMs !== undefined && o.maxAgeMs < o.duplicateWindowMs) {
      ctx.addIssue({ code: 'custom', path: ['duplicateWindowMs'], message: 'the duplicate window cannot be longer than maxAgeMs' });
    }
  });

export type NatsOptions = z.output<typeof natsOptionsSchema>;
