/** `@ferry/testing/notifier`: the conformance suite every notifier runs unchanged. Loads vitest and @ferry/core only. */
export { describeNotifierConformance, type NotifierConformanceOptions, type NotifierTarget, type NotifierTestKit, type ReceivedMessage } from './notifier-conformance.js';
