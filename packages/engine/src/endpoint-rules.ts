import type { DeliverySettlement, Endpoint, EndpointSecret, JobStore, JobStoreParts, NewEvent, SigningScheme } from '@ferry/core';
import { randomId } from './ids.js';
import { recordEvents } from './outbox.js';

/**
 * The endpoint an export's webhook URL delivers to: one per account, URL and scheme, created on
 * first use. Asking for exports to a disabled one again is the client saying it is back: it is
 * re-enabled. Two submits racing to create it both end up with the one that was stored.
 */
export async function ensureImplicitEndpoint(
  jobs: JobStore,
  accountId: number,
  url: string,
  scheme: SigningScheme,
  createSecret: () => string | null,
): Promise<Endpoint> {
  const existing = await jobs.endpoints.findImplicit(accountId, url, scheme);
  if (existing) {
    if (existing.enabled) return existing;
    return (await jobs.endpoints.update(existing.id, { enabled: true, disabledReason: null, failingSince: null, updatedAt: new Date() })) ?? existing;
  }
  const secret = createSecret();
  const now = new Date();
  const id = randomId('ep');
  try {
    await jobs.endpoints.insert({
      id,
      accountId,
      url,
      scheme,
      secrets: secret === null ? [] : [{ value: secret, expiresAt: null }],
      events: null,
      description: null,
      registered: false,
      scheduleMs: null,
      createdAt: now,
    });
  } catch (err) {
    const winner = await jobs.endpoints.findImplicit(accountId, url, scheme);
    if (winner) return winner;
    throw err;
  }
  return (await jobs.endpoints.get(id))!;
}

/** After a rotation: the new secret first; older ones keep signing until `previousExpiresAt` at the latest. */
export function rotatedSecrets(current: readonly EndpointSecret[], secret: string, previousExpiresAt: Date, now: Date): EndpointSecret[] {
  const kept = current
    .map((s) => ({ value: s.value, expiresAt: new Date(Math.min(s.expiresAt?.getTime() ?? Infinity, previousExpiresAt.getTime())) }))
    .filter((s) => s.expiresAt.getTime() > now.getTime());
  return [{ value: secret, expiresAt: null }, ...kept];
}

/** The secrets that sign now: the current one and rotated-out ones still in their grace period. */
export function activeSecrets(endpoint: Pick<Endpoint, 'secrets'>, now: Date): string[] {
  return endpoint.secrets.filter((s) => s.expiresAt === null || s.expiresAt.getTime() > now.getTime()).map((s) => s.value);
}

/** An attempt's outcome as the delivery worker judged it. */
export interface AttemptOutcome extends DeliverySettlement {
  /** Disable the endpoint (410 Gone, or failing too long); the event is recorded only by the settlement that disables it. */
  disableEndpoint?: { reason: string; event: NewEvent };
  /** The endpoint was in a run of failures when the delivery was claimed. */
  endpointWasFailing: boolean;
}

/**
 * Whether recording `outcomes` is the settlement alone: every attempt succeeded, to an endpoint
 * that was healthy when claimed. That one statement is atomic by itself, so it needs no
 * transaction around it; anything else (a failure to count, an endpoint to mark healthy or to
 * disable) changes several parts together, in one transaction.
 */
export function settlementOnly(outcomes: readonly AttemptOutcome[]): boolean {
  return outcomes.every((o) => o.next.state === 'succeeded' && !o.endpointWasFailing);
}

/**
 * Record a batch of attempts and what they mean for their endpoints, inside the caller's
 * transaction (or on the store itself when `settlementOnly` says the batch needs none): an
 * endpoint's latest outcome in the batch decides its health (a success ends a run of failures; a
 * failure starts one unless one is running), and an endpoint is disabled, with its
 * `endpoint.disabled` event, by the first outcome that asks for it. Attempts of deliveries whose
 * lease this worker lost are not recorded and change nothing.
 */
export async function settleAttempts(tx: JobStoreParts, owner: string, outcomes: readonly AttemptOutcome[]): Promise<{ disabled: number }> {
  if (outcomes.length === 0) return { disabled: 0 };
  const settled = await tx.deliveries.settle(owner, outcomes);
  const endpointOf = new Map(settled.map((s) => [s.deliveryId, s.endpointId]));
  const failing = new Set(settled.filter((s) => s.endpointFailing).map((s) => s.endpointId));
  const runs = new Map<string, Date | null>();
  for (const o of [...outcomes].sort((a, b) => a.attempt.at.getTime() - b.attempt.at.getTime())) {
    const endpointId = endpointOf.get(o.deliveryId);
    if (endpointId === undefined) continue;
    const since = runs.get(endpointId);
    runs.set(endpointId, o.next.state === 'succeeded' ? null : (since ?? o.attempt.at));
  }
  const healthy: string[] = [];
  for (const [endpointId, failingSince] of runs) {
    // Only an endpoint in a run of failures has one to end; most batches have none.
    if (failingSince === null) {
      if (failing.has(endpointId)) healthy.push(endpointId);
    } else await tx.endpoints.markFailing(endpointId, failingSince);
  }
  // One statement for all of them, not one per endpoint.
  await tx.endpoints.markHealthy(healthy);
  let disabled = 0;
  for (const o of outcomes) {
    const endpointId = endpointOf.get(o.deliveryId);
    if (!o.disableEndpoint || endpointId === undefined) continue;
    if (await tx.endpoints.disable(endpointId, o.disableEndpoint.reason, o.attempt.at)) {
      disabled++;
      await recordEvents(tx, [o.disableEndpoint.event]);
    }
  }
  return { disabled };
}
