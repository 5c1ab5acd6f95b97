import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nanos } from '@nats-io/transport-node';
import { FerryError, PluginRegistry, silentLogger, type OutgoingMessage } from '@ferry/core';
import { describeNats, requireNats } from '@ferry/testing/support';
import { natsNotifier } from './plugin.js';
import { createNatsNotifier, type NatsNotifier } from './nats-notifier.js';
import { natsOptionsSchema } from './options.js';
import { StreamInspector, uniqueNames } from './test-support.js';

const event = (accountId: number, type: string, id = `evt_${Math.random().toString(36).slice(2)}`): OutgoingMessage => ({
  id,
  url: 'ferry-sink://bus',
  body: JSON.stringify({ type, id, created: 1_700_000_000, data: { object: { uuid: 'u1' } } }),
  headers: {},
  event: { accountId, type },
});

describe('nats plugin options', () => {
  it('defaults to the local server, stream FERRY_EVENTS and prefix ferry, creating the stream with a 10-minute duplicate window', () => {
    expect(natsNotifier.options.parse({})).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      stream: 'FERRY_EVENTS',
      subjectPrefix: 'ferry',
      createStream: true,
      duplicateWindowMs: 600_000,
      replicas: 1,
      connectTimeoutMs: 5_000,
    });
  });

  it('reports a bad option at its path, through the registry', async () => {
    const registry = new PluginRegistry().register(natsNotifier);
    const pathOf = async (options: Record<string, unknown>) => {
      const made = await registry.create('notifier', { use: 'nats', options }, { logger: silentLogger, dataDir: '.' }, ['sinks', 'bus']).catch((err: unknown) => err);
      if (!(made instanceof FerryError)) {
        await (made as NatsNotifier).close();
        return null;
      }
      return made.path;
    };
    expect(await pathOf({ stream: 'has.dot' })).toEqual(['sinks', 'bus', 'options', 'stream']);
    expect(await pathOf({ subjectPrefix: 'ferry.*' })).toEqual(['sinks', 'bus', 'options', 'subjectPrefix']);
    expect(await pathOf({ servers: ['http://127.0.0.1:4222'] })).toEqual(['sinks', 'bus', 'options', 'servers', 0]);
    expect(await pathOf({ user: 'ferry' })).toEqual(['sinks', 'bus', 'options', 'pass']);
    expect(await pathOf({ maxAgeMs: 60_000, duplicateWindowMs: 120_000 })).toEqual(['sinks', 'bus', 'options', 'duplicateWindowMs']);
    expect(await pathOf({ servers: 'nats://a:4222', stream: 'OK_NAME' })).toBeNull();
  });

  it('accepts a single server or a list', () => {
    expect(natsOptionsSchema.parse({ servers: 'tls://nats.internal:4222' }).servers).toEqual(['tls://nats.internal:4222']);
    expect(natsOptionsSchema.parse({ servers: ['a:4222', 'b:4222'] }).servers).toEqual(['a:4222', 'b:4222']);
  });
});

describe('messages the sink cannot publish', () => {
  const notifier = createNatsNotifier(natsOptionsSchema.parse({ servers: 'nats://127.0.0.1:1' }));
  afterAll(() => notifier.close());

  it('refuses, for good, a message that is not an event, or an event type that would be a wildcard', async () => {
    const { event: _none, ...plain } = event(1, 'export.completed');
    expect(await notifier.deliver(plain, {})).toMatchObject({ ok: false, retryable: false });
    for (const type of ['export.*', 'export.>', 'export..completed', 'export completed', '']) {
      expect(await notifier.deliver(event(1, type), {}), type).toMatchObject({ ok: false, retryable: false });
    }
  });

  it('never puts the password of a server URL in an error', async () => {
    const n = createNatsNotifier(natsOptionsSchema.parse({ servers: 'nats://ferry:s3cret-pass@127.0.0.1:1', connectTimeoutMs: 500 }));
    const result = await n.deliver(event(1, 'export.completed'), { timeoutMs: 2_000 });
    await n.close();
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(JSON.stringify(result)).not.toContain('s3cret');
  });
});

const nats = await requireNats();

describeNats('nats notifier against NATS JetStream', nats, (service) => {
  let inspector: StreamInspector;
  const streams: string[] = [];
  const open: NatsNotifier[] = [];
  const sink = (options: Record<string, unknown> = {}) => {
    const names = uniqueNames();
    streams.push(names.stream);
    const n = createNatsNotifier(natsOptionsSchema.parse({ servers: service.url, ...names, ...options }));
    open.push(n);
    return { notifier: n, ...names };
  };

  beforeAll(async () => {
    inspector = await StreamInspector.open(service.url);
  });
  afterEach(async () => {
    for (const n of open.splice(0)) await n.close();
    for (const s of streams.splice(0)) await inspector.deleteStream(s);
  });
  afterAll(() => inspector.close());

  it('publishes to <prefix>.<accountId>.<event type>, with the event id as Nats-Msg-Id and the envelope as the body', async () => {
    const { notifier, stream, subjectPrefix } = sink();
    const completed = event(42, 'export.completed');
    const published = event(7, 'dataset.version.published');
    for (const m of [completed, published]) expect((await notifier.deliver(m, { timeoutMs: 5_000 })).ok).toBe(true);
    const stored = await inspector.read(stream);
    expect(stored.map((m) => [m.subject, m.id, m.body])).toEqual([
      [`${subjectPrefix}.42.export.completed`, completed.id, completed.body],
      [`${subjectPrefix}.7.dataset.version.published`, published.id, published.body],
    ]);
    expect(stored[0]!.headers).toMatchObject({ 'Content-Type': 'application/json', 'Ferry-Event-Type': 'export.completed', 'Ferry-Account-Id': '42' });
    expect(notifier.subjectFor({ accountId: 42, type: 'export.completed' })).toBe(`${subjectPrefix}.42.export.completed`);
  });

  it('reports the PubAck in the attempt log: stream, sequence and whether it was a duplicate', async () => {
    const { notifier, stream } = sink();
    const m = event(1, 'export.requested');
    const first = await notifier.deliver(m, { timeoutMs: 5_000 });
    const again = await notifier.deliver(m, { timeoutMs: 5_000 });
    expect(JSON.parse(first.responseBody!)).toEqual({ stream, seq: 1, duplicate: false });
    expect(JSON.parse(again.responseBody!)).toEqual({ stream, seq: 1, duplicate: true });
  });

  it('drops a repeat published by another process (a restarted worker) within the duplicate window', async () => {
    const { notifier, stream, subjectPrefix } = sink();
    const m = event(3, 'export.completed');
    expect((await notifier.deliver(m, { timeoutMs: 5_000 })).ok).toBe(true);
    await notifier.close();
    const restarted = createNatsNotifier(natsOptionsSchema.parse({ servers: service.url, stream, subjectPrefix }));
    open.push(restarted);
    const repeat = await restarted.deliver(m, { timeoutMs: 5_000 });
    expect(repeat.ok).toBe(true);
    expect(JSON.parse(repeat.responseBody!)).toMatchObject({ duplicate: true });
    expect((await inspector.read(stream)).map((s) => s.id)).toEqual([m.id]);
  });

  it('creates a missing stream capturing <prefix>.> with the configured duplicate window, file storage and max age', async () => {
    const { notifier, stream, subjectPrefix } = sink({ duplicateWindowMs: 90_000, maxAgeMs: 3_600_000 });
    expect((await notifier.deliver(event(1, 'export.failed'), { timeoutMs: 5_000 })).ok).toBe(true);
    const { config } = await inspector.jsm.streams.info(stream);
    expect(config).toMatchObject({ subjects: [`${subjectPrefix}.>`], duplicate_window: nanos(90_000), max_age: nanos(3_600_000), storage: 'file' });
  });

  it("leaves an existing stream as the operator made it", async () => {
    const names = uniqueNames();
    streams.push(names.stream);
    await inspector.jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.*.export.>`], duplicate_window: nanos(30_000) });
    const notifier = createNatsNotifier(natsOptionsSchema.parse({ servers: service.url, ...names, duplicateWindowMs: 600_000 }));
    open.push(notifier);
    expect((await notifier.deliver(event(1, 'export.completed'), { timeoutMs: 5_000 })).ok).toBe(true);
    const { config } = await inspector.jsm.streams.info(names.stream);
    expect(config).toMatchObject({ subjects: [`${names.subjectPrefix}.*.export.>`], duplicate_window: nanos(30_000) });
  });

  it('without createStream, retries until the operator creates the stream, then publishes', async () => {
    const { notifier, stream, subjectPrefix } = sink({ createStream: false });
    const m = event(5, 'export.completed');
    const before = await notifier.deliver(m, { timeoutMs: 3_000 });
    expect(before).toMatchObject({ ok: false, retryable: true });
    expect(before.error).toContain(`${subjectPrefix}.5.export.completed`);
    await inspector.jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] });
    expect((await notifier.deliver(m, { timeoutMs: 5_000 })).ok).toBe(true);
    expect((await inspector.read(stream)).map((s) => s.id)).toEqual([m.id]);
  });

  it('refuses to count a message stored by another stream as published (its duplicate window is not the configured one)', async () => {
    const names = uniqueNames();
    const other = `${names.stream}_OTHER`;
    streams.push(other);
    await inspector.jsm.streams.add({ name: other, subjects: [`${names.subjectPrefix}.>`] });
    const notifier = createNatsNotifier(natsOptionsSchema.parse({ servers: service.url, ...names, createStream: false }));
    open.push(notifier);
    const result = await notifier.deliver(event(1, 'export.completed'), { timeoutMs: 5_000 });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.error).toMatch(/expected stream/i);
  });
});
