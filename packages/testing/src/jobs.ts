/** `@ferry/testing/jobs`: the conformance suite every job store runs unchanged, and its fixtures. Loads vitest and @ferry/core only. */
export {
  describeJobStoreConformance,
  SAMPLE_QUERY,
  sampleApiKey,
  sampleAttempt,
  sampleDelivery,
  sampleEndpoint,
  sampleEvent,
  sampleExport,
  sampleImplicitEndpoint,
  sampleResult,
  sampleSchedule,
  sampleVersion,
  type JobStoreConformanceOptions,
} from './jobs-conformance.js';
