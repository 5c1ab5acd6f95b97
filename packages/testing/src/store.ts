/** `@ferry/testing/store`: the conformance suite every object store runs unchanged. Loads vitest and @ferry/core only. */
export { describeStoreConformance, type StoreConformanceOptions } from './store-conformance.js';
