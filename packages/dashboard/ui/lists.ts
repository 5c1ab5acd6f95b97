import { unwrap, type FerryClient } from '@ferry/client';
import type { Delivery, ExportState, ExportSummary, FerryEvent } from '@ferry/client';

export interface Collected<T> {
  items: T[];
  /** False when the page cap was reached before the list ended (counts are then lower bounds). */
  complete: boolean;
}

/** Follow a cursor-paged list (`starting_after` = the last item's id) for at most `maxPages` pages. */
export async function collect<T>(page: (after: string | undefined) => Promise<{ data: T[]; hasMore: boolean }>, idOf: (item: T) => string, maxPages: number): Promise<Collected<T>> {
  const items: T[] = [];
  let after: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const { data, hasMore } = await page(after);
    items.push(...data);
    if (!hasMore || data.length === 0) return { items, complete: true };
    after = idOf(data[data.length - 1]!);
  }
  return { items, complete: false };
}

export const exportsInState = (client: FerryClient, state: ExportState, maxPages = 10): Promise<Collected<ExportSummary>> =>
  collect(async (after) => unwrap(await client.GET('/dataset/export', { params: { query: { state, limit: 100, starting_after: after } } })), (e) => e.queryUUID, maxPages);

export const eventsSince = (client: FerryClient, since: Date, type?: string, maxPages = 10): Promise<Collected<FerryEvent>> =>
  collect(async (after) => unwrap(await client.GET('/events', { params: { query: { since: since.toISOString(), type, limit: 1000, starting_after: after } } })), (e) => e.id, maxPages);

export const deliveriesSince = (client: FerryClient, since: Date, filter: { status?: Delivery['state']; endpoint?: string } = {}, maxPages = 10): Promise<Collected<Delivery>> =>
  collect(
    async (after) => unwrap(await client.GET('/webhooks/deliveries', { params: { query: { since: since.toISOString(), ...filter, limit: 1000, starting_after: after } } })),
    (d) => d.id,
    maxPages,
  );

export const DAY_MS = 24 * 3600_000;
