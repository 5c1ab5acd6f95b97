import { silentLogger } from '@ferry/core';
import { describeNotifierConformance } from '@ferry/testing/notifier';
import { webhookNotifier } from './plugin.js';
import { startServer } from './test-support.js';

const create = () => webhookNotifier.create(webhookNotifier.options.parse({ allowCidrs: ['127.0.0.1/32'] }), { logger: silentLogger, dataDir: '.' });

describeNotifierConformance({
  name: 'webhook',
  plugin: webhookNotifier,
  create: async () => {
    const receiver = await startServer((_req, res) => res.writeHead(204).end());
    return {
      notifier: await create(),
      target: {
        url: receiver.url('/hook'),
        received: async () => receiver.requests.map((r) => ({ id: String(r.headers['webhook-id']), body: r.body })),
        close: () => receiver.close(),
      },
    };
  },
  createAt: async (port) => ({ notifier: await create(), url: `http://127.0.0.1:${port}/hook` }),
});
