import { expect } from 'vitest';
import type { AttemptRecord, Delivery, DeliveryClaim, JobStore, NewDelivery, NewEndpoint } from '@ferry/core';
import { sampleDelivery, sampleEndpoint } from './fixtures.js';
import { MINUTE, SECOND, type ManualClock } from './harness.js';

export const deliveryClaim = (limit: number, overrides: Partial<DeliveryClaim> = {}): DeliveryClaim => ({
  limit,
  leaseMs: MINUTE,
  maxInFlightPerEndpoint: 100,
  ...overrides,
});

/** A delivery as `insert` leaves it, queued when the store's clock read `dueAt`. */
export function pendingDelivery(delivery: NewDelivery, url: string, dueAt: Date): Delivery & { attemptLog: AttemptRecord[] } {
  return { ...delivery, state: 'pending', attempts: 0, nextAttemptAt: dueAt, lastError: null, lastStatus: null, url, attemptLog: [] };
}

/** `get` without the attempt log: what `list` and `claim` return of a delivery. */
export function withoutLog(delivery: (Delivery & { attemptLog: AttemptRecord[] }) | null): Delivery {
  expect(delivery).not.toBeNull();
  const { attemptLog: _attemptLog, ...rest } = delivery!;
  return rest;
}

export async function addEndpoint(store: JobStore, accountId: number, overrides: Partial<NewEndpoint> = {}): Promise<NewEndpoint> {
  const endpoint = sampleEndpoint(accountId, overrides);
  await store.endpoints.insert(endpoint);
  return endpoint;
}

/**
 * Queue `count` deliveries to an endpoint, one second apart, so that creation time, insertion
 * order and due time all agree on which is earlier.
 */
export async function queueDeliveries(
  store: JobStore,
  clock: ManualClock,
  accountId: number,
  endpointId: string,
  count: number,
  overrides: Partial<NewDelivery> = {},
): Promise<string[]> {
  const queued: string[] = [];
  for (let i = 0; i < count; i++) {
    const delivery = sampleDelivery(accountId, endpointId, { createdAt: clock.at(), ...overrides });
    await store.deliveries.insert([delivery]);
    queued.push(delivery.id);
    clock.advance(SECOND);
  }
  return queued;
}

export const succeeded = { state: 'succeeded' } as const;
export const failed = { state: 'failed' } as const;
