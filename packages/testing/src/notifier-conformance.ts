import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notifier, OutgoingMessage, PluginDefinition } from '@ferry/core';

/** A message as the target holds it: the durable id it came with, and the body. */
export interface ReceivedMessage {
  id: string;
  body: string;
}

export interface NotifierTarget {
  /** What to put in a message's `url`; a notifier that publishes where its options say ignores it. */
  url: string;
  /** Everything the target has received (a receiver) or stored (a broker) so far, oldest first. */
  received(): Promise<ReceivedMessage[]>;
  close?(): Promise<void>;
}

export interface NotifierConformanceOptions {
  name: string;
  /** The plugin definition: its kind, name and declared capabilities are checked. */
  plugin: PluginDefinition<'notifier'>;
  /** A fresh notifier (built by the plugin) and a fresh target it delivers to, for each test. */
  create(): Promise<{ notifier: Notifier; target: NotifierTarget }>;
  /**
   * A notifier (and the `url` for its messages) aimed at 127.0.0.1:`port`, where the suite runs a
   * fault: nothing listening, or a server that accepts connections and never says a word.
   */
  createAt(port: number): Promise<{ notifier: Notifier; url: string }>;
  additionalTests?(kit: NotifierTestKit): void;
}

export interface NotifierTestKit {
  create: NotifierConformanceOptions['create'];
  message(target: NotifierTarget, overrides?: Partial<OutgoingMessage>): OutgoingMessage;
}

/** What a plugin declares: whether its target drops a repeated id by itself (a broker), or leaves that to the receiver. */
const DEDUPES = 'deduplicatesById';

/** An event in the envelope Ferry sends, with text that breaks naive encodings. */
function message(target: NotifierTarget, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const id = `evt_conformance_${randomBytes(9).toString('base64url')}`;
  const body = JSON.stringify({
    type: 'export.completed',
    id,
    created: 1_700_000_000,
    data: { object: { uuid: 'a1b2c3', object: 'rentals', name: 'Café ☕ 東京 "quoted" \\ line\nbreak \u2028', filters: [] } },
  });
  return { id, url: target.url, body, headers: {}, event: { accountId: 7, type: 'export.completed' }, ...overrides };
}

const copiesOf = (received: readonly ReceivedMessage[], id: string) => received.filter((m) => m.id === id);

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Accepts connections and never answers: the hung receiver or broker. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The contract every notifier meets, ours and third-party, run unchanged. */
export function describeNotifierConformance(options: NotifierConformanceOptions): void {
  const { plugin } = options;
  const dedupes = plugin.capabilities[DEDUPES] === true;

  describe(`notifier conformance: ${options.name}`, () => {
    const cleanup: Array<() => Promise<unknown>> = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });
    const fresh = async () => {
      const made = await options.create();
      cleanup.push(() => made.notifier.close?.() ?? Promise.resolve(), () => made.target.close?.() ?? Promise.resolve());
      return made;
    };
    const aimedAt = async (port: number) => {
      const made = await options.createAt(port);
      cleanup.push(() => made.notifier.close?.() ?? Promise.resolve());
      return made;
    };

    it('is a notifier plugin that declares its capabilities, and creates notifiers under its name', async () => {
      expect(plugin.kind).toBe('notifier');
      expect(plugin.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(Object.values(plugin.capabilities).every((v) => typeof v === 'boolean')).toBe(true);
      expect(typeof plugin.capabilities[DEDUPES], `capabilities.${DEDUPES}`).toBe('boolean');
      const { notifier } = await fresh();
      expect(notifier.name).toBe(plugin.name);
    });

    it('delivers a message under its id with the body byte for byte, and says so only when it has been taken', async () => {
      const { notifier, target } = await fresh();
      const m = message(target);
      const result = await notifier.deliver(m, { timeoutMs: 10_000 });
      expect(result, result.error).toMatchObject({ ok: true, retryable: false });
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
      expect(copiesOf(await target.received(), m.id)).toEqual([{ id: m.id, body: m.body }]);
    });

    it(`acknowledges every repeat of an id: stored once by a notifier with ${DEDUPES}, handed over each time (for the receiver to dedupe) by one without`, async () => {
      const { notifier, target } = await fresh();
      const m = message(target);
      // What the outbox does after a crash between the acknowledgement and recording it: send again, same id.
      for (let i = 0; i < 3; i++) expect((await notifier.deliver(m, { timeoutMs: 10_000 })).ok).toBe(true);
      const copies = copiesOf(await target.received(), m.id);
      expect(copies).toEqual((dedupes ? [1] : [1, 2, 3]).map(() => ({ id: m.id, body: m.body })));
    });

    it('delivers concurrent messages, each one under its own id', async () => {
      const { notifier, target } = await fresh();
      const sent = Array.from({ length: 40 }, () => message(target));
      const results = await Promise.all(sent.map((m) => notifier.deliver(m, { timeoutMs: 10_000 })));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      const received = await target.received();
      for (const m of sent) expect(copiesOf(received, m.id)).toEqual([{ id: m.id, body: m.body }]);
    });

    it('reports a target with nothing listening as a retryable failure, without throwing', async () => {
      const { notifier, url } = await aimedAt(await closedPort());
      const result = await notifier.deliver({ ...message({ url, received: async () => [] }) }, { timeoutMs: 5_000 });
      expect(result).toMatchObject({ ok: false, retryable: true });
      expect(result.error).toEqual(expect.any(String));
    });

    it('gives up on a target that never answers once timeoutMs has passed, as a retryable failure', async () => {
      const silent = await silentServer();
      cleanup.push(() => silent.close());
      const { notifier, url } = await aimedAt(silent.port);
      const result = await notifier.deliver(message({ url, received: async () => [] }), { timeoutMs: 500 });
      expect(result).toMatchObject({ ok: false, retryable: true });
    });

    it('sends nothing when the signal is already aborted', async () => {
      const { notifier, target } = await fresh();
      const m = message(target);
      const result = await notifier.deliver(m, { signal: AbortSignal.abort(), timeoutMs: 5_000 });
      expect(result.ok).toBe(false);
      expect(copiesOf(await target.received(), m.id)).toEqual([]);
    });

    it('delivers nothing after close(), says so without throwing, and closes twice without complaint', async () => {
      const { notifier, target } = await fresh();
      expect((await notifier.deliver(message(target), { timeoutMs: 10_000 })).ok).toBe(true);
      await notifier.close?.();
      await notifier.close?.();
      const late = message(target);
      expect((await notifier.deliver(late, { timeoutMs: 5_000 })).ok).toBe(false);
      expect(copiesOf(await target.received(), late.id)).toEqual([]);
    });

    options.additionalTests?.({ create: fresh, message });
  });
}
