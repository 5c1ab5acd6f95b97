import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { FerryError, silentLogger, type Account, type JobStore, type JobStoreParts } from '@ferry/core';
import { DeliveryWorker, SinkEndpoints, exportEvent, recordEvents, sinkEndpointId } from '@ferry/engine';
import type { WebhookNotifier } from '@ferry/notifier-webhook';
import type { NatsNotifier } from '@ferry/notifier-nats';
import { describeNats, requireNats, waitFor, type NatsService } from '@ferry/testing/support';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { ROOT } from './container.js';
import { seededDataDir } from './test-support/data-dir.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

/*
 * Operator event sinks with the NATS JetStream server on 127.0.0.1:4222: events reach the stream
 * exactly once per id, through the outbox and the delivery worker (a real SQLite job store), also
 * when a worker dies after the PubAck and before recording it; and through a whole Ferry configured
 * with a `sinks` entry, an export's lifecycle lands in the stream.
 */

interface Stored {
  subject: string;
  id: string;
  body: string;
}

/** Unique per test: tests running at once never share a stream or its subjects. */
function streamNames(): { stream: string; subjectPrefix: string } {
  const tag = randomBytes(5).toString('hex');
  return { stream: `H3_CLI_${tag}`, subjectPrefix: `h3.cli.${tag}` };
}

async function readStream(jsm: JetStreamManager, stream: string): Promise<Stored[]> {
  const info = await jsm.streams.info(stream);
  const out: Stored[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) out.push({ subject: m.subject, id: m.header.get('Nats-Msg-Id'), body: m.string() });
  }
  return out;
}

async function deleteStream(jsm: JetStreamManager, stream: string): Promise<void> {
  await jsm.streams.delete(stream).catch((err: unknown) => {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
  });
}

/** `target` with `overrides` in front: a proxy over a fresh object, so frozen parts keep their own invariants. */
function overlay<T extends object>(target: T, overrides: Partial<Record<keyof T, unknown>>): T {
  return new Proxy({} as T, {
    get(_, key) {
      if (key in overrides) return overrides[key as keyof T];
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The store as a worker killed after sending sees it: its settle never commits, in a transaction or alone. */
function killedBeforeSettling(jobs: JobStore): JobStore {
  const parts = <P extends JobStoreParts>(p: P): P =>
    overlay<P>(p, { deliveries: overlay(p.deliveries, { settle: () => Promise.reject(new Error('worker killed before recording its attempts')) }) } as Partial<Record<keyof P, unknown>>);
  return overlay(parts(jobs), { transaction: <T>(fn: (tx: JobStoreParts) => Promise<T>) => jobs.transaction((tx) => fn(parts(tx))) });
}

// Plugins are imported the way Ferry loads them, on use (apps/cli/src/plugins.ts).
const { SqliteJobStore } = await import('@ferry/jobs-sqlite');
const { createWebhookNotifier } = await import('@ferry/notifier-webhook');
const { createNatsNotifier, natsNotifier, natsOptionsSchema } = await import('@ferry/notifier-nats');

const nats = await requireNats();

describeNats('operator event sinks on NATS JetStream', nats, (service: NatsService) => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: service.url, name: 'ferry-tests' });
    jsm = await jetstreamManager(nc);
  });
  afterAll(() => nc.close());

  describe('through the outbox and the delivery worker', () => {
    let dir: string;
    let jobs: JobStore;
    let account: Account;
    let webhookNotifier: WebhookNotifier;
    let names: { stream: string; subjectPrefix: string };
    const sinks: NatsNotifier[] = [];

    const sink = (): NatsNotifier => {
      const s = createNatsNotifier(natsOptionsSchema.parse({ servers: service.url, ...names }));
      sinks.push(s);
      return s;
    };
    const worker = (store: JobStore = jobs) =>
      new DeliveryWorker({ jobs: store, notifier: webhookNotifier, sinks: new Map([['bus', sink()]]), logger: silentLogger }, { timeoutMs: 1_000 });
    const sinkDeliveries = () => jobs.deliveries.list(account.id, { endpointId: sinkEndpointId(account.id, 'bus'), limit: 100 });

    async function emit(count: number): Promise<string[]> {
      const events = Array.from({ length: count }, (_, i) =>
        exportEvent(i % 2 === 0 ? 'export.requested' : 'export.completed', {
          id: `exp-${i}`,
          accountId: account.id,
          datasetKey: 'rentals',
          query: { filters: [] },
          requestedAt: new Date(),
          startedAt: null,
          finishedAt: null,
        }),
      );
      await jobs.transaction((tx) => recordEvents(tx, events));
      return events.map((e) => e.id);
    }

    beforeEach(async () => {
      names = streamNames();
      dir = await mkdtemp(join(tmpdir(), 'ferry-sinks-'));
      jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
      account = await jobs.accounts.create({ name: 'tenant', createdAt: new Date() });
      await new SinkEndpoints({ jobs, names: ['bus'] }).syncAll();
      webhookNotifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });
    });

    afterEach(async () => {
      for (const s of sinks.splice(0)) await s.close();
      await webhookNotifier.close();
      await jobs.close();
      await rm(dir, { recursive: true, force: true });
      await deleteStream(jsm, names.stream);
    });

    it('publishes every event once on <prefix>.<account>.<type>, and records the delivery as sent with the PubAck', async () => {
      const ids = await emit(6);
      const w = worker();
      // An account's sink endpoint, like any endpoint, has at most maxInFlightPerEndpoint (4) attempts at once.
      expect((await w.runOnce()) + (await w.runOnce())).toBe(6);
      expect((await readStream(jsm, names.stream)).map(({ subject, id }) => ({ subject, id }))).toEqual(
        ids.map((id, i) => ({ id, subject: `${names.subjectPrefix}.${account.id}.${i % 2 === 0 ? 'export.requested' : 'export.completed'}` })),
      );
      const deliveries = await sinkDeliveries();
      expect(deliveries.map((d) => d.state)).toEqual(ids.map(() => 'succeeded'));
      const detail = await jobs.deliveries.get(deliveries[0]!.id);
      expect(JSON.parse(detail!.attemptLog[0]!.responseBody!)).toEqual({ stream: names.stream, seq: 1, duplicate: false });
    });

    it('stores each event once when a worker dies between the PubAck and recording it, and another worker publishes it again', async () => {
      // Four: one run takes at most maxInFlightPerEndpoint (4) deliveries of one endpoint.
      const ids = await emit(4);
      const dying = worker(killedBeforeSettling(jobs));
      await expect(dying.runOnce()).rejects.toThrow('killed before recording');
      expect((await readStream(jsm, names.stream)).map((m) => m.id)).toEqual(ids);
      expect((await jobs.deliveries.countByState(account.id)).pending).toBe(4);

      // Once the dead worker's leases run out (timeout + 5 s), a second worker, on its own
      // connection as a restarted process would be, sends them again.
      const second = worker();
      await waitFor('the dead worker’s leases to run out', async () => ((await second.runOnce()) > 0 ? true : undefined), 30_000);
      expect((await readStream(jsm, names.stream)).map((m) => m.id)).toEqual(ids);
      const deliveries = await sinkDeliveries();
      expect(deliveries.map((d) => d.state)).toEqual(ids.map(() => 'succeeded'));
      for (const d of deliveries) {
        // Only the second worker's attempt was recorded, and JetStream called it a duplicate.
        const log = (await jobs.deliveries.get(d.id))!.attemptLog;
        expect(log.map((a) => JSON.parse(a.responseBody!) as { duplicate: boolean })).toEqual([expect.objectContaining({ duplicate: true })]);
      }
    });

    it('keeps events recorded while NATS is unreachable and publishes them once it is back', async () => {
      const ids = await emit(2);
      const down = createNatsNotifier(natsOptionsSchema.parse({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 300, ...names }));
      sinks.push(down);
      const outage = new DeliveryWorker({ jobs, notifier: webhookNotifier, sinks: new Map([['bus', down]]), logger: silentLogger }, { timeoutMs: 1_000 });
      expect(await outage.runOnce()).toBe(2);
      expect(outage.counters.retried).toBe(2);
      // The retry is due in about 5 s; a redelivery (what `recover` does) makes it due now.
      for (const d of await sinkDeliveries()) await jobs.deliveries.redeliver(d.id);
      expect(await worker().runOnce()).toBe(2);
      expect((await readStream(jsm, names.stream)).map((m) => m.id)).toEqual(ids);
    });
  });

  describe('a Ferry configured with a NATS sink', () => {
    const KEY = 'sinks-tests-api-key';
    let dataDir: string;
    let ferry: FerryRuntime;
    let rx: ScriptedReceiver;
    const names = streamNames();

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${ferry.url}${path}`, {
        method,
        headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    beforeAll(async () => {
      dataDir = await seededDataDir('ferry-sinks-e2e-');
      rx = await startScriptedReceiver();
      ferry = await startFerry(
        defineConfig({
          dataDir,
          server: { port: 0 },
          logLevel: 'silent',
          notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
          sinks: { bus: { use: 'nats', options: { servers: service.url, ...names } } },
        }),
        KEY,
        {
          deliveryWorker: { pollMs: 50 },
          // Until `nats` is a built-in plugin (apps/cli/src/plugins.ts), this test registers it.
          register: (di) => {
            const registry = di.resolve(ROOT.Plugins);
            if (!registry.has('notifier', 'nats')) registry.register(natsNotifier);
          },
        },
      );
    });

    afterAll(async () => {
      const sinks = ferry ? [...ferry.container.resolve(ROOT.Sinks).values()] : [];
      await ferry?.stop();
      // The runtime does not close sinks yet (apps/cli/src/runtime.ts); a second close is harmless once it does.
      for (const s of sinks) await s.close?.();
      await rx?.close();
      await rm(dataDir, { recursive: true, force: true });
      await deleteStream(jsm, names.stream);
    });

    it("lands an export's lifecycle in the stream, once per event, as the envelope GET /events returns", async () => {
      const submitted = await api('POST', '/dataset/export', {
        dataset: { scopes: [{ column: 'msa' }, { column: 'asking_rent', aggregate: 'Max' }], limit: 3 },
        webhookURL: `${rx.url}/done`,
        name: 'to the bus',
        format: 'csv',
      });
      expect(submitted.status).toBe(201);
      const queryUUID = submitted.json.queryUUID as string;
      const status = await waitFor('the export to complete', async () => {
        const s = await api('GET', `/dataset/export/${queryUUID}`);
        return s.json.state === 'completed' ? s : undefined;
      });
      await fetch((status.json.download as { url: string }).url);

      const ofExport = async () =>
        (await readStream(jsm, names.stream).catch(() => [])).filter((m) => (JSON.parse(m.body) as { data: { object: { uuid?: string } } }).data.object.uuid === queryUUID);
      const stored = await waitFor('three lifecycle events in the stream', async () => ((await ofExport()).length >= 3 ? ofExport() : undefined));
      const account = (await ferry.jobs.accounts.first())!.id;
      expect(stored.map((m) => m.subject)).toEqual(['export.requested', 'export.completed', 'export.downloaded'].map((t) => `${names.subjectPrefix}.${account}.${t}`));
      expect(new Set(stored.map((m) => m.id)).size).toBe(3);

      const events = (await api('GET', '/events')).json.data as Array<{ id: string; data: { object: { uuid: string } } }>;
      const mine = events.filter((e) => e.data.object.uuid === queryUUID);
      expect(stored.map((m) => [m.id, JSON.parse(m.body) as unknown])).toEqual(mine.map((e) => [e.id, e]));

      // The sink is the operator's: the account's endpoints and delivery log do not show it.
      const endpoints = (await api('GET', '/webhooks/endpoints')).json.data as Array<{ url: string }>;
      expect(endpoints.filter((e) => e.url.startsWith('ferry-sink:'))).toEqual([]);
      const deliveries = (await api('GET', '/webhooks/deliveries?limit=100')).json.data as Array<{ url: string }>;
      expect(deliveries.length).toBeGreaterThan(0);
      expect(deliveries.filter((d) => d.url.startsWith('ferry-sink:'))).toEqual([]);
    });
  });
});

describe('sink configuration', () => {
  it('refuses a webhook notifier as a sink, and a notifier that cannot send webhooks in the webhook slot, at the exact path', async () => {
    const dataDir = await seededDataDir('ferry-sinks-config-');
    const startWith = (extra: Record<string, unknown>, overrides: Parameters<typeof startFerry>[2] = {}) =>
      startFerry(defineConfig({ dataDir, server: { port: 0 }, logLevel: 'silent', ...extra }), 'sinks-config-api-key', overrides).then(
        async (f) => {
          await f.stop();
          return null;
        },
        (err: unknown) => err,
      );
    const bus = createNatsNotifier(natsOptionsSchema.parse({}));
    try {
      expect(await startWith({ sinks: { hooks: { use: 'webhook' } } })).toMatchObject({ code: 'INVALID_CONFIG', path: ['sinks', 'hooks', 'use'] });
      const inWebhookSlot = await startWith({}, { notifier: bus });
      expect(inWebhookSlot).toBeInstanceOf(FerryError);
      expect(inWebhookSlot).toMatchObject({ code: 'INVALID_CONFIG', path: ['notifier', 'use'] });
    } finally {
      await bus.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
