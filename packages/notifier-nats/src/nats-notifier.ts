import { connect, headers, nanos, NoRespondersError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { silentLogger, type DeliverOptions, type DeliveryResult, type Logger, type Notifier, type OutgoingMessage } from '@ferry/core';
import { DEFAULTS, type NatsOptions } from './options.js';
import { eventSubject } from './subject.js';

export interface NatsNotifier extends Notifier {
  readonly stream: string;
  /** Where an event is published; null when its type cannot be a subject. */
  subjectFor(event: { accountId: number; type: string }): string | null;
  close(): Promise<void>;
}

interface Link {
  nc: NatsConnection;
  js: JetStreamClient;
}

/**
 * Publishes each event to a JetStream stream and reports success only with the stream's PubAck
 * in hand, so the outbox marks a delivery sent only once the event is stored. The event id goes
 * out as `Nats-Msg-Id`: an attempt repeated within the stream's duplicate window (a crash after
 * the ack, before the outbox recorded it; an ack lost on the way back) is acknowledged as a
 * duplicate and stored once.
 *
 * The connection is opened on the first delivery, not at start: Ferry starts, and queues events,
 * while NATS is down, and a process that never delivers (an API process) never connects.
 */
export function createNatsNotifier(options: NatsOptions, logger: Logger = silentLogger): NatsNotifier {
  const { stream, subjectPrefix } = options;
  let link: Promise<Link> | null = null;
  let closed = false;

  const open = async (): Promise<Link> => {
    const nc = await connect({
      servers: options.servers,
      name: 'ferry',
      timeout: options.connectTimeoutMs,
      // Once connected, ride out any outage: attempts meanwhile time out and are retried by the outbox.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      ...(options.user !== undefined ? { user: options.user, pass: options.pass } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    });
    try {
      if (options.createStream) await ensureStream(nc, options);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
    logger.info({ stream, subjectPrefix }, 'nats sink connected');
    return { nc, js: jetstream(nc) };
  };

  /** One shared connection; after a failed connect or a closed connection the next attempt opens a new one. */
  const connection = (): Promise<Link> => {
    if (link) return link;
    const opening = open();
    link = opening;
    opening.then(
      (l) => void l.nc.closed().then(() => (link === opening ? (link = null) : undefined)),
      () => (link === opening ? (link = null) : undefined),
    );
    return opening;
  };

  return {
    name: 'nats',
    stream,

    subjectFor: (event) => eventSubject(subjectPrefix, event),

    async deliver(message: OutgoingMessage, opts: DeliverOptions = {}): Promise<DeliveryResult> {
      const started = performance.now();
      const elapsed = (): number => Math.round(performance.now() - started);
      const fail = (retryable: boolean, error: string): DeliveryResult => ({ ok: false, retryable, durationMs: elapsed(), error });
      if (closed) return fail(true, 'the NATS sink is closed');
      if (!message.event) return fail(false, 'not an event: the NATS sink publishes events, and this message names no account and type');
      const subject = eventSubject(subjectPrefix, message.event);
      if (subject === null) return fail(false, `event type ${JSON.stringify(message.event.type)} cannot be part of a NATS subject`);
      if (opts.signal?.aborted) return fail(true, 'aborted');

      const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
      const h = headers();
      h.set('Content-Type', 'application/json');
      h.set('Ferry-Event-Type', message.event.type);
      h.set('Ferry-Account-Id', String(message.event.accountId));
      const publish = (async (): Promise<PubAck> => {
        const { js } = await connection();
        return js.publish(subject, message.body, {
          msgID: message.id,
          headers: h,
          // The stream this sink is configured for must be the one storing it: its duplicate window is the one documented.
          expect: { streamName: stream },
          timeout: Math.max(1, timeoutMs - elapsed()),
        });
      })();
      try {
        const ack = await untilAborted(publish, signal);
        return { ok: true, retryable: false, durationMs: elapsed(), responseBody: JSON.stringify({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate }) };
      } catch (err) {
        if (deadline.aborted) return fail(true, `no PubAck within ${timeoutMs} ms`);
        if (opts.signal?.aborted) return fail(true, 'aborted');
        return fail(true, describe(err, subject, stream));
      }
    },

    async close(): Promise<void> {
      closed = true;
      const current = link;
      link = null;
      const l = await current?.catch(() => null);
      await l?.nc.close().catch(() => undefined);
    },
  };
}

/** Create the stream unless it exists; an existing stream is the operator's and is left as it is. */
async function ensureStream(nc: NatsConnection, options: NatsOptions): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const exists = () =>
    jsm.streams.info(options.stream).then(
      () => true,
      (err: unknown) => {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return false;
        throw err;
      },
    );
  if (await exists()) return;
  try {
    await jsm.streams.add({
      name: options.stream,
      subjects: [`${options.subjectPrefix}.>`],
      storage: StorageType.File,
      num_replicas: options.replicas,
      duplicate_window: nanos(options.duplicateWindowMs),
      ...(options.maxAgeMs !== undefined ? { max_age: nanos(options.maxAgeMs) } : {}),
    });
  } catch (err) {
    // Another process created it in between: fine, as long as it is there now.
    if (!(await exists())) throw err;
  }
}

/** The publish, or a rejection as soon as `signal` fires; a publish that settles later is not left unhandled. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** What went wrong, for the attempt log, in words that never include a server URL (it may carry credentials). */
function describe(err: unknown, subject: string, stream: string): string {
  // nats.js reports a publish nobody answered (no stream captures the subject) as JetStream not
  // being enabled; its class is not exported from the package entry, hence the name.
  if (err instanceof NoRespondersError || (err instanceof Error && err.name === 'JetStreamNotEnabled')) {
    return `no JetStream stream captures ${subject} (create stream "${stream}" or set createStream)`;
  }
  if (err instanceof TimeoutError) return 'no PubAck in time';
  // The server's own words (e.g. "expected stream does not match"): they name no address.
  if (err instanceof JetStreamApiError) return `JetStream refused the message: ${err.message} (code ${err.code})`;
  const code = (err as { code?: unknown } | null)?.code;
  return `cannot publish to NATS: ${err instanceof Error ? err.name : 'error'}${typeof code === 'string' ? ` ${code}` : ''}`;
}
