import {
  DeliveryListQuery,
  EndpointCreate,
  EndpointUpdate,
  EventListQuery,
  FerryError,
  RecoverRequest,
  parseOrThrow,
  type Account,
  type Delivery,
  type Endpoint,
  type JobStore,
  type WebhookSecurity,
} from '@ferry/core';
import { randomId } from './ids.js';
import { rotatedSecrets } from './endpoint-rules.js';
import { unknownCursor } from './pages.js';
import { isSinkDelivery, sinkOf } from './sinks.js';

const ROTATION_GRACE_MS = 24 * 3_600_000;

/** The public view of an endpoint: never its secrets (those are shown once, on creation and rotation). */
function view(e: Endpoint) {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    scheme: e.scheme,
    description: e.description,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    failingSince: e.failingSince?.toISOString() ?? null,
    retryScheduleSeconds: e.scheduleMs?.map((ms) => ms / 1000) ?? null,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

function deliveryView(d: Delivery) {
  return {
    id: d.id,
    webhookId: d.messageId,
    endpointId: d.endpointId,
    url: d.url,
    event: d.eventType,
    exportId: d.exportId,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
  };
}

/** Registered endpoints, the delivery log with replay, and the event feed, all scoped to one account. */
export class WebhookService {
  constructor(private readonly deps: { jobs: JobStore; notifier: WebhookSecurity; /** The clock a rotation's grace period starts from. */ now?: () => Date }) {}

  async createEndpoint(account: Account, body: unknown) {
    const req = parseOrThrow(EndpointCreate, body);
    await this.deps.notifier.validateTarget(req.url, ['url']);
    const secret = this.deps.notifier.createSecret(req.scheme);
    const id = randomId('ep');
    await this.deps.jobs.endpoints.insert({
      id,
      accountId: account.id,
      url: req.url,
      scheme: req.scheme,
      secrets: [{ value: secret, expiresAt: null }],
      events: req.events,
      description: req.description ?? null,
      registered: true,
      scheduleMs: req.retryScheduleSeconds?.map((s) => s * 1000) ?? null,
      createdAt: new Date(),
    });
    return { ...view((await this.deps.jobs.endpoints.get(id))!), secret };
  }

  async listEndpoints(account: Account) {
    // Operator sinks' endpoints are the operator's: an account never sees them.
    return { data: (await this.deps.jobs.endpoints.listRegistered(account.id)).filter((e) => sinkOf(e) === null).map(view) };
  }

  async #own(account: Account, id: string): Promise<Endpoint> {
    const endpoint = await this.deps.jobs.endpoints.get(id);
    if (!endpoint || endpoint.accountId !== account.id || !endpoint.registered || sinkOf(endpoint) !== null) throw new FerryError('NOT_FOUND', `no endpoint ${id}`);
    return endpoint;
  }

  async getEndpoint(account: Account, id: string) {
    return view(await this.#own(account, id));
  }

  async updateEndpoint(account: Account, id: string, body: unknown) {
    await this.#own(account, id);
    const req = parseOrThrow(EndpointUpdate, body);
    if (req.url !== undefined) await this.deps.notifier.validateTarget(req.url, ['url']);
    const updated = await this.deps.jobs.endpoints.update(id, {
      updatedAt: new Date(),
      ...(req.url !== undefined ? { url: req.url } : {}),
      ...(req.events !== undefined ? { events: req.events } : {}),
      // Enabling by hand ends any run of failures; disabling says who did it.
      ...(req.enabled !== undefined ? { enabled: req.enabled, disabledReason: req.enabled ? null : 'disabled by the account' } : {}),
      ...(req.enabled === true ? { failingSince: null } : {}),
      ...(req.description !== undefined ? { description: req.description } : {}),
      ...(req.retryScheduleSeconds !== undefined ? { scheduleMs: req.retryScheduleSeconds?.map((s) => s * 1000) ?? null } : {}),
    });
    return view(updated!);
  }

  async deleteEndpoint(account: Account, id: string): Promise<void> {
    await this.#own(account, id);
    await this.deps.jobs.transaction(async (tx) => {
      await tx.deliveries.failPending(id, 'endpoint deleted');
      await tx.endpoints.delete(id);
    });
  }

  /** A new secret, shown once; the old one keeps signing for 24 hours so receivers can switch over. */
  async rotateSecret(account: Account, id: string) {
    const secret = this.deps.notifier.createSecret((await this.#own(account, id)).scheme);
    const now = this.deps.now?.() ?? new Date();
    const previousExpiresAt = new Date(now.getTime() + ROTATION_GRACE_MS);
    await this.deps.jobs.transaction(async (tx) => {
      const current = await tx.endpoints.get(id);
      if (current) await tx.endpoints.update(id, { secrets: rotatedSecrets(current.secrets, secret, previousExpiresAt, now), updatedAt: now });
    });
    return { id, secret, previousSecretExpiresAt: previousExpiresAt.toISOString() };
  }

  async listDeliveries(account: Account, query: unknown) {
    const q = parseOrThrow(DeliveryListQuery, query, { basePath: ['query'] });
    if (q.starting_after && (await this.deps.jobs.deliveries.get(q.starting_after))?.accountId !== account.id) throw unknownCursor(q.starting_after);
    const filter = {
      ...(q.status ? { state: q.status } : {}),
      ...(q.endpoint ? { endpointId: q.endpoint } : {}),
      ...(q.since ? { since: q.since } : {}),
    };
    // Deliveries to operator sinks are skipped, reading on until the page is full or the log ends.
    const page: Delivery[] = [];
    let after = q.starting_after;
    for (;;) {
      const rows = await this.deps.jobs.deliveries.list(account.id, { ...filter, limit: q.limit, ...(after ? { startingAfter: after } : {}) });
      for (const row of rows) if (page.length < q.limit && !isSinkDelivery(row)) page.push(row);
      if (page.length === q.limit || rows.length < q.limit) break;
      after = rows[rows.length - 1]!.id;
    }
    return { data: page.map(deliveryView), hasMore: page.length === q.limit };
  }

  async #ownDelivery(account: Account, id: string) {
    const delivery = await this.deps.jobs.deliveries.get(id);
    if (!delivery || delivery.accountId !== account.id || isSinkDelivery(delivery)) throw new FerryError('NOT_FOUND', `no delivery ${id}`);
    return delivery;
  }

  async getDelivery(account: Account, id: string) {
    const d = await this.#ownDelivery(account, id);
    return {
      ...deliveryView(d),
      attemptLog: d.attemptLog.map((a, i) => ({ n: i + 1, at: a.at.toISOString(), durationMs: a.durationMs, status: a.status, error: a.error, responseBody: a.responseBody })),
    };
  }

  async redeliver(account: Account, id: string) {
    await this.#ownDelivery(account, id);
    await this.deps.jobs.deliveries.redeliver(id);
    return this.getDelivery(account, id);
  }

  async recover(account: Account, body: unknown) {
    const { since } = parseOrThrow(RecoverRequest, body);
    return { recovered: await this.deps.jobs.deliveries.recover(account.id, since) };
  }

  async counts(account: Account) {
    return this.deps.jobs.deliveries.countByState(account.id);
  }

  async listEvents(account: Account, query: unknown) {
    const q = parseOrThrow(EventListQuery, query, { basePath: ['query'] });
    if (q.starting_after && (await this.deps.jobs.events.get(q.starting_after))?.accountId !== account.id) throw unknownCursor(q.starting_after);
    const events = await this.deps.jobs.events.list(account.id, {
      limit: q.limit,
      ...(q.type ? { type: q.type } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.starting_after ? { startingAfter: q.starting_after } : {}),
    });
    // The stored body is the envelope exactly as it was sent.
    return { data: events.map((e) => JSON.parse(e.body) as unknown), hasMore: events.length === q.limit };
  }
}
