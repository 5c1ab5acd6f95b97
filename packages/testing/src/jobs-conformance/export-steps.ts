import { expect } from 'vitest';
import type { ExportClaim, ExportJob, JobStore, NewExportJob } from '@ferry/core';
import { sampleExport, sampleResult } from './fixtures.js';
import { MINUTE, SECOND, type ManualClock } from './harness.js';

/** An export as `insert` leaves it. */
export function queuedExport(job: NewExportJob): ExportJob {
  return {
    ...job,
    state: 'queued',
    attempts: 0,
    startedAt: null,
    finishedAt: null,
    updatedAt: expect.any(Date) as unknown as Date,
    progressRows: 0,
    progressBytes: 0,
    result: null,
    error: null,
    downloads: 0,
  };
}

export const claimOf = (limit: number, overrides: Partial<ExportClaim> = {}): ExportClaim => ({
  limit,
  leaseMs: MINUTE,
  maxRunningPerAccount: 100,
  ...overrides,
});

/**
 * Queue `count` exports for `accountId`, one second apart, so that request time, insertion order
 * and the store's clock at insertion all agree on which is older.
 */
export async function queueExports(store: JobStore, clock: ManualClock, accountId: number, count: number): Promise<string[]> {
  const queued: string[] = [];
  for (let i = 0; i < count; i++) {
    const job = sampleExport(accountId, { requestedAt: clock.at() });
    await store.exports.insert(job);
    queued.push(job.id);
    clock.advance(SECOND);
  }
  return queued;
}

/** Queue an export and claim it for `owner`; call it while no other export is due. */
export async function startExport(store: JobStore, clock: ManualClock, accountId: number, owner: string): Promise<string> {
  const [id] = await queueExports(store, clock, accountId, 1);
  const claimed = await store.exports.claim(owner, claimOf(1));
  expect(claimed.map((j) => j.id)).toEqual([id]);
  return id!;
}

/** Queue, claim and complete an export whose files expire at `expiresAt`. */
export async function completeExport(store: JobStore, clock: ManualClock, accountId: number, expiresAt = clock.at(30 * 86_400_000)): Promise<string> {
  const id = await startExport(store, clock, accountId, 'w-complete');
  expect(await store.exports.complete(id, 'w-complete', sampleResult(clock.at(), { expiresAt }))).toBe(true);
  return id;
}

/** Queue, claim and fail an export. */
export async function failExport(store: JobStore, clock: ManualClock, accountId: number): Promise<string> {
  const id = await startExport(store, clock, accountId, 'w-fail');
  expect(await store.exports.fail(id, 'w-fail', 'source rejected the query')).toBe(true);
  return id;
}
