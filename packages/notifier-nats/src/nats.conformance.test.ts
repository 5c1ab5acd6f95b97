import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '@ferry/core';
import { describeNotifierConformance } from '@ferry/testing/notifier';
import { describeNats, requireNats } from '@ferry/testing/support';
import { natsNotifier } from './plugin.js';
import { StreamInspector, uniqueNames } from './test-support.js';

const ctx = { logger: silentLogger, dataDir: '.' };
const nats = await requireNats();

describeNats('nats notifier against NATS JetStream', nats, (service) => {
  let inspector: StreamInspector;
  beforeAll(async () => {
    inspector = await StreamInspector.open(service.url);
  });
  afterAll(() => inspector.close());

  describeNotifierConformance({
    name: 'nats',
    plugin: natsNotifier,
    create: async () => {
      const names = uniqueNames();
      return {
        notifier: await natsNotifier.create(natsNotifier.options.parse({ servers: service.url, ...names }), ctx),
        target: {
          // A sink publishes where its options say; the URL is the endpoint's name only.
          url: 'ferry-sink://conformance',
          received: async () => (await inspector.read(names.stream)).map((m) => ({ id: m.id, body: m.body })),
          close: () => inspector.deleteStream(names.stream),
        },
      };
    },
    createAt: async (port) => ({
      notifier: await natsNotifier.create(natsNotifier.options.parse({ servers: `nats://127.0.0.1:${port}`, ...uniqueNames(), connectTimeoutMs: 1_000 }), ctx),
      url: 'ferry-sink://conformance',
    }),
  });
});
