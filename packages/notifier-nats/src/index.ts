export { natsNotifier } from './plugin.js';
export { createNatsNotifier, type NatsNotifier } from './nats-notifier.js';
export { natsOptionsSchema, DEFAULTS, type NatsOptions } from './options.js';
export { eventSubject } from './subject.js';
