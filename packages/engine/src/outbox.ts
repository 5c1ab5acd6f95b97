import { eventMatches, type Endpoint, type JobStoreParts, type NewDelivery, type NewEvent } from '@ferry/core';
import { randomId } from './ids.js';

export type OutboxParts = Pick<JobStoreParts, 'events' | 'endpoints' | 'deliveries'>;

/**
 * Record events and queue one delivery to each subscribed endpoint, inside the caller's
 * transaction, so events and their deliveries commit with the state change that announced them.
 * An event id stored before is not fanned out again: a retried transition re-emits the same id.
 * `alsoDeliver` (an export's own completion or failure webhook) goes into the same insert.
 */
export async function recordEvents(tx: OutboxParts, events: readonly NewEvent[], alsoDeliver: readonly NewDelivery[] = []): Promise<void> {
  if (events.length === 0) {
    await tx.deliveries.insert(alsoDeliver);
    return;
  }
  const stored = await tx.events.insert(events);
  const subscribers = new Map<number, Endpoint[]>();
  // Deliveries that go with the events (an export's own completion webhook) share their one insert.
  const deliveries: NewDelivery[] = [...alsoDeliver];
  for (const event of stored) {
    let endpoints = subscribers.get(event.accountId);
    if (!endpoints) {
      endpoints = await tx.endpoints.listSubscribers(event.accountId);
      subscribers.set(event.accountId, endpoints);
    }
    for (const endpoint of endpoints) {
      if (!eventMatches(endpoint.events ?? [], event.type)) continue;
      deliveries.push({
        id: randomId('dlv'),
        accountId: event.accountId,
        endpointId: endpoint.id,
        messageId: event.id,
        exportId: event.exportId,
        eventType: event.type,
        body: event.body,
        headers: {},
        createdAt: event.created,
      });
    }
  }
  await tx.deliveries.insert(deliveries);
}
