/** `@ferry/testing/receivers`: the seed docs' webhook handlers (express), run verbatim as receivers. */
export { startSeedReceivers, type ReceivedWebhook, type SeedReceivers } from './seed-receivers.js';
