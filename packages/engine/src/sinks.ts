import type { Endpoint, JobStore, JobStoreParts } from '@ferry/core';

/**
 * Operator event sinks (a NATS stream, say) ride on the outbox: each account has one hidden
 * endpoint per configured sink, subscribed to every event, so `recordEvents` queues a delivery to
 * it in the same transaction as the event, and the delivery worker hands those deliveries to the
 * sink instead of POSTing them. The endpoints are registered (that is what makes them subscribers)
 * but never shown to the account: the webhook API treats them as absent.
 *
 * Their URL is not a network address (the webhook rules accept only http(s), so no client can
 * register one) and their id is derived from account and sink name, so two processes creating the
 * same one collide on the primary key instead of creating two.
 */
const SINK_URL_PREFIX = 'ferry-sink://';

/** The setting that records which sinks every account's endpoints were last brought in line with. */
const SYNCED_SETTING = 'sink_endpoints_synced';

export function sinkUrl(name: string): string {
  return `${SINK_URL_PREFIX}${name}`;
}

export function sinkEndpointId(accountId: number, name: string): string {
  return `ep_sink_${accountId}_${name}`;
}

/** The sink an endpoint feeds, or null for a webhook endpoint. */
export function sinkOf(endpoint: Pick<Endpoint, 'id' | 'url' | 'accountId'>): string | null {
  if (!endpoint.url.startsWith(SINK_URL_PREFIX)) return null;
  const name = endpoint.url.slice(SINK_URL_PREFIX.length);
  return endpoint.id === sinkEndpointId(endpoint.accountId, name) ? name : null;
}

/** Whether a delivery (by its endpoint's id and URL) goes to a sink: such deliveries are the operator's, not the account's. */
export function isSinkDelivery(delivery: { endpointId: string; url: string; accountId: number }): boolean {
  return sinkOf({ id: delivery.endpointId, url: delivery.url, accountId: delivery.accountId }) !== null;
}

export interface SinkSync {
  created: number;
  enabled: number;
  disabled: number;
}

/**
 * Make one account's sink endpoints match `names`, inside the caller's transaction: a missing one
 * is created, a disabled one re-enabled, and one whose sink is no longer configured is disabled
 * (its events stop being queued; configuring the sink again resumes them).
 */
export async function syncSinkEndpoints(tx: Pick<JobStoreParts, 'endpoints'>, accountId: number, names: readonly string[], now: Date): Promise<SinkSync> {
  const result: SinkSync = { created: 0, enabled: 0, disabled: 0 };
  const existing = new Map<string, Endpoint>();
  for (const endpoint of await tx.endpoints.listRegistered(accountId)) {
    const name = sinkOf(endpoint);
    if (name !== null) existing.set(name, endpoint);
  }
  for (const name of names) {
    const endpoint = existing.get(name);
    if (!endpoint) {
      await tx.endpoints.insert({
        id: sinkEndpointId(accountId, name),
        accountId,
        url: sinkUrl(name),
        // Never used to sign: sinks are reached over the operator's own connection.
        scheme: 'ferry-hmac',
        secrets: [],
        events: ['*'],
        description: `operator event sink "${name}"`,
        registered: true,
        scheduleMs: null,
        createdAt: now,
      });
      result.created++;
    } else if (!endpoint.enabled) {
      await tx.endpoints.update(endpoint.id, { enabled: true, disabledReason: null, failingSince: null, updatedAt: now });
      result.enabled++;
    }
  }
  for (const [name, endpoint] of existing) {
    if (names.includes(name) || !endpoint.enabled) continue;
    await tx.endpoints.update(endpoint.id, { enabled: false, disabledReason: `sink "${name}" is not configured`, updatedAt: now });
    result.disabled++;
  }
  return result;
}

/** Keeps every account's sink endpoints in line with the configured sinks. */
export class SinkEndpoints {
  constructor(private readonly deps: { jobs: JobStore; names: readonly string[]; now?: () => Date }) {}

  get names(): readonly string[] {
    return this.deps.names;
  }

  /** One account, in a transaction of its own; a process creating the same endpoint at the same time makes this retry once. */
  async syncAccount(accountId: number): Promise<SinkSync> {
    const run = () => this.deps.jobs.transaction((tx) => syncSinkEndpoints(tx, accountId, this.deps.names, this.#now()));
    try {
      return await run();
    } catch {
      return run();
    }
  }

  /**
   * At start: every account, when the configured sinks differ from the ones the store last synced
   * (so an unchanged configuration costs one read, however many accounts there are). Accounts
   * created later get theirs with the account (`AccountService.createAccount`).
   */
  async syncAll(): Promise<SinkSync & { accounts: number }> {
    const { jobs } = this.deps;
    const wanted = JSON.stringify([...this.deps.names].sort());
    const total = { created: 0, enabled: 0, disabled: 0, accounts: 0 };
    if (((await jobs.settings.get(SYNCED_SETTING)) ?? '[]') === wanted) return total;
    for (const account of await jobs.accounts.list()) {
      const one = await this.syncAccount(account.id);
      total.created += one.created;
      total.enabled += one.enabled;
      total.disabled += one.disabled;
      total.accounts++;
    }
    await jobs.settings.put(SYNCED_SETTING, wanted);
    return total;
  }

  #now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}
