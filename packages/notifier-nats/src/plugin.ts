import { definePlugin } from '@ferry/core';
import { natsOptionsSchema } from './options.js';
import { createNatsNotifier } from './nats-notifier.js';

export const natsNotifier = definePlugin({
  kind: 'notifier',
  name: 'nats',
  description: 'Publishes every event to a NATS JetStream stream, acknowledged and deduplicated by event id',
  options: natsOptionsSchema,
  capabilities: {
    /** JetStream drops a repeated `Nats-Msg-Id` within the stream's duplicate window. */
    deduplicatesById: true,
    /** Publishes where its options say: a message's `url` is not a destination. */
    usesTargetUrl: false,
  },
  create: (options, ctx) => createNatsNotifier(options, ctx.logger),
});
