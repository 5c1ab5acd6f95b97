import { afterAll, describe } from 'vitest';
import { describeAccounts } from './jobs-conformance/accounts.js';
import { describeConcurrency } from './jobs-conformance/concurrency.js';
import { describeDeliveryClaims } from './jobs-conformance/deliveries-claim.js';
import { describeDeliveryRecords } from './jobs-conformance/deliveries-records.js';
import { describeEndpoints } from './jobs-conformance/endpoints.js';
import { describeEvents } from './jobs-conformance/events.js';
import { describeExportClaims } from './jobs-conformance/exports-claim.js';
import { describeExportLifecycle } from './jobs-conformance/exports-lifecycle.js';
import { sessions, type JobStoreConformanceOptions } from './jobs-conformance/harness.js';
import { describeStore } from './jobs-conformance/store.js';
import { describeVersionsAndSchedules } from './jobs-conformance/versions.js';

export type { JobStoreConformanceOptions } from './jobs-conformance/harness.js';
export {
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
} from './jobs-conformance/fixtures.js';

/**
 * The contract every JobStore meets, ours and third-party, run unchanged: each method of each part
 * of `packages/core/src/job-store.ts` as its documentation says, the transaction seam, restarts,
 * and several processes sharing one location. Every test opens its own location, so any test can
 * run alone or in any order.
 */
export function describeJobStoreConformance(options: JobStoreConformanceOptions): void {
  describe(`jobs conformance: ${options.name}`, () => {
    const { run, dropAll } = sessions(options);
    afterAll(dropAll);

    describeStore(run);
    describeAccounts(run);
    describeExportLifecycle(run);
    describeExportClaims(run);
    describeEndpoints(run);
    describeEvents(run);
    describeDeliveryClaims(run);
    describeDeliveryRecords(run);
    describeVersionsAndSchedules(run);
    describeConcurrency(run);

    options.additionalTests?.();
  });
}
