/** `@ferry/testing/jobs`: the conformance suite every job store runs unchanged, and its fixtures. Loads vitest and @ferry/core only. */
export * from './jobs-conformance.js';
