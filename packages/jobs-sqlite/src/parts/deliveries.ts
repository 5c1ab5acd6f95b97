import type {
  AttemptRecord,
  ClaimedDelivery,
  DeliveriesPart,
  Delivery,
  DeliveryClaim,
  DeliveryQuery,
  DeliverySettlement,
  DeliveryState,
  Endpoint,
  NewDelivery,
  QueueStats,
  SettledDelivery,
} from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { toEndpoint } from './endpoints.js';
import { date, dateOrNull, int, intOrNull, json, ms, text, textOrNull, type Row } from './columns.js';

const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'succeeded', 'failed'];

/** A delivery outlives its endpoint in the log (deleting an endpoint keeps its history): the URL is then empty. */
const WITH_URL = `SELECT d.*, coalesce(e.url, '') AS url FROM deliveries d LEFT JOIN endpoints e ON e.id = d.endpoint_id`;

function toDelivery(row: Row): Delivery {
  return {
    id: text(row.id),
    accountId: int(row.account_id),
    endpointId: text(row.endpoint_id),
    messageId: text(row.message_id),
    exportId: textOrNull(row.export_id),
    eventType: text(row.event_type),
    body: text(row.body),
    headers: json<Record<string, string>>(row.headers),
    createdAt: date(row.created_at),
    state: row.state as DeliveryState,
    attempts: int(row.attempts),
    nextAttemptAt: date(row.next_attempt_at),
    lastError: textOrNull(row.last_error),
    lastStatus: intOrNull(row.last_status),
    url: text(row.url),
  };
}

function toAttempt(row: Row): AttemptRecord {
  return {
    at: date(row.at),
    durationMs: int(row.duration_ms),
    status: intOrNull(row.status),
    error: textOrNull(row.error),
    responseBody: textOrNull(row.response_body),
  };
}

/**
 * Due pending deliveries whose endpoint still exists, earliest due first: only the first `:head`
 * of each endpoint (the smaller of the cap and the claim's limit), since no later one can be taken
 * by this claim. The endpoints with pending deliveries come from a loose index scan, each one's
 * head from the same index, so a claim reads about (endpoints x head) rows however long the outbox.
 */
const DUE = `
  WITH RECURSIVE pending_endpoints(endpoint_id) AS (
    SELECT (SELECT endpoint_id FROM deliveries INDEXED BY deliveries_pending_heads WHERE state = 'pending' ORDER BY endpoint_id LIMIT 1)
    UNION ALL
    SELECT (SELECT d.endpoint_id FROM deliveries d INDEXED BY deliveries_pending_heads
            WHERE d.state = 'pending' AND d.endpoint_id > p.endpoint_id ORDER BY d.endpoint_id LIMIT 1)
    FROM pending_endpoints p WHERE p.endpoint_id IS NOT NULL
  )
  SELECT d.seq, d.endpoint_id FROM pending_endpoints p JOIN endpoints e ON e.id = p.endpoint_id
  JOIN deliveries d ON d.seq IN (
    SELECT h.seq FROM deliveries h INDEXED BY deliveries_pending_heads
    WHERE h.state = 'pending' AND h.endpoint_id = p.endpoint_id AND h.next_attempt_at <= :now
      AND (h.lease_until IS NULL OR h.lease_until < :now)
    ORDER BY h.next_attempt_at, h.seq
    LIMIT :head)
  ORDER BY d.next_attempt_at, d.seq`;

/**
 * Live leases per endpoint, but for the claimer's own settling ones (a JSON array of ids). Only
 * pending deliveries hold a lease (every move out of pending frees it), so the condition is on the
 * lease alone: that keeps the query on the small partial index of leased rows instead of every
 * pending row.
 */
const IN_FLIGHT = `SELECT endpoint_id, count(*) AS n FROM deliveries
  WHERE lease_until >= ? AND NOT (lease_owner = ? AND id IN (SELECT value FROM json_each(?)))
  GROUP BY endpoint_id`;

/** The picked deliveries (a JSON array of seqs) in one statement rather than one per delivery. */
const LEASE = `UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE seq IN (SELECT value FROM json_each(?)) RETURNING *`;

/** Guarded by the lease: a worker that lost it records nothing, the new holder records its own attempt. */
const ADVANCE = `
  UPDATE deliveries SET attempts = attempts + 1, retry_index = retry_index + 1, state = ?, next_attempt_at = coalesce(?, next_attempt_at),
    last_error = ?, last_status = ?, lease_owner = NULL, lease_until = NULL
  WHERE id = ? AND lease_owner = ? AND state = 'pending'
  RETURNING seq, attempts, endpoint_id, account_id`;

const ENDPOINT_FAILING = `SELECT failing_since IS NOT NULL AS failing FROM endpoints WHERE id = ?`;

const LOG_ATTEMPT = `INSERT INTO delivery_attempts (delivery_seq, n, at, duration_ms, status, error, response_body) VALUES (?, ?, ?, ?, ?, ?, ?)`;

const REOPEN = `state = 'pending', retry_index = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL`;

export class SqliteDeliveries implements DeliveriesPart {
  readonly #x: SqlExecutor;

  constructor(executor: SqlExecutor) {
    this.#x = executor;
  }

  async insert(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const added = this.#x.atomic(() => {
      const now = this.#x.now();
      const insert = this.#x.sql(
        `INSERT INTO deliveries (id, account_id, endpoint_id, message_id, export_id, event_type, body, headers, state, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
         ON CONFLICT (id) DO NOTHING`,
      );
      let n = 0;
      for (const d of deliveries) {
        n += insert.run(d.id, d.accountId, d.endpointId, d.messageId, d.exportId, d.eventType, d.body, JSON.stringify(d.headers), now, ms(d.createdAt)).changes;
      }
      return n;
    });
    if (added > 0) this.#x.addedWork('deliveries');
  }

  async claim(owner: string, claim: DeliveryClaim): Promise<ClaimedDelivery[]> {
    if (claim.limit <= 0 || claim.maxInFlightPerEndpoint <= 0) return [];
    return this.#x.atomicLease(() => {
      const now = this.#x.now();
      const inFlight = new Map<string, number>();
      for (const row of this.#x.sql(IN_FLIGHT).all(now, owner, JSON.stringify(claim.settling ?? [])) as Row[]) inFlight.set(text(row.endpoint_id), int(row.n));
      // Walk the heads in due order and skip endpoints at their cap.
      const picked: number[] = [];
      const head = Math.min(claim.maxInFlightPerEndpoint, claim.limit);
      for (const row of this.#x.sql(DUE).iterate({ now, head }) as IterableIterator<Row>) {
        const endpointId = text(row.endpoint_id);
        const leased = inFlight.get(endpointId) ?? 0;
        if (leased >= claim.maxInFlightPerEndpoint) continue;
        inFlight.set(endpointId, leased + 1);
        picked.push(int(row.seq));
        if (picked.length === claim.limit) break;
      }
      if (picked.length === 0) return [];
      const leased = new Map<number, Row>();
      for (const row of this.#x.sql(LEASE).all(owner, now + claim.leaseMs, JSON.stringify(picked)) as Row[]) leased.set(int(row.seq), row);
      const endpointById = this.#x.sql('SELECT * FROM endpoints WHERE id = ?');
      // Many deliveries share an endpoint: read each once per claim.
      const endpoints = new Map<string, Endpoint>();
      // RETURNING gives no order: hand them out in due order, as picked.
      return picked.map((seq): ClaimedDelivery => {
        const row = leased.get(seq)!;
        const endpointId = text(row.endpoint_id);
        let endpoint = endpoints.get(endpointId);
        if (!endpoint) {
          endpoint = toEndpoint(endpointById.get(endpointId) as Row);
          endpoints.set(endpointId, endpoint);
        }
        return { ...toDelivery({ ...row, url: endpoint.url }), endpoint, retryIndex: int(row.retry_index) };
      });
    });
  }

  async settle(owner: string, settlements: readonly DeliverySettlement[]): Promise<SettledDelivery[]> {
    if (settlements.length === 0) return [];
    return this.#x.atomic(() => {
      const advance = this.#x.sql(ADVANCE);
      const log = this.#x.sql(LOG_ATTEMPT);
      const failing = this.#x.sql(ENDPOINT_FAILING);
      const settled: SettledDelivery[] = [];
      // A batch holds a few endpoints' deliveries: read each one's health once.
      const endpointFailing = new Map<string, boolean>();
      for (const s of settlements) {
        const a = s.attempt;
        const next = s.next.state === 'pending' ? ms(s.next.nextAttemptAt) : null;
        const row = advance.get(s.next.state, next, a.error, a.status, s.deliveryId, owner) as Row | undefined;
        if (!row) continue;
        log.run(row.seq, row.attempts, ms(a.at), a.durationMs, a.status, a.error, a.responseBody);
        const endpointId = text(row.endpoint_id);
        let isFailing = endpointFailing.get(endpointId);
        if (isFailing === undefined) {
          const endpoint = failing.get(endpointId) as Row | undefined;
          isFailing = endpoint !== undefined && int(endpoint.failing) === 1;
          endpointFailing.set(endpointId, isFailing);
        }
        settled.push({ deliveryId: s.deliveryId, endpointId, accountId: int(row.account_id), endpointFailing: isFailing });
      }
      return settled;
    });
  }

  async get(id: string): Promise<(Delivery & { attemptLog: AttemptRecord[] }) | null> {
    const row = this.#x.sql(`${WITH_URL} WHERE d.id = ?`).get(id) as Row | undefined;
    if (!row) return null;
    const attempts = this.#x.sql('SELECT * FROM delivery_attempts WHERE delivery_seq = ? ORDER BY n').all(row.seq) as Row[];
    return { ...toDelivery(row), attemptLog: attempts.map(toAttempt) };
  }

  async list(accountId: number, query: DeliveryQuery): Promise<Delivery[]> {
    const where = ['d.account_id = ?'];
    const values: unknown[] = [accountId];
    const add = (condition: string, value: unknown) => {
      where.push(condition);
      values.push(value);
    };
    if (query.state !== undefined) add('d.state = ?', query.state);
    if (query.endpointId !== undefined) add('d.endpoint_id = ?', query.endpointId);
    if (query.exportId !== undefined) add('d.export_id = ?', query.exportId);
    if (query.since !== undefined) add('d.created_at >= ?', ms(query.since));
    if (query.startingAfter !== undefined) add('d.seq > coalesce((SELECT seq FROM deliveries WHERE id = ?), 0)', query.startingAfter);
    const rows = this.#x.sql(`${WITH_URL} WHERE ${where.join(' AND ')} ORDER BY d.seq LIMIT ?`).all(...values, query.limit) as Row[];
    return rows.map(toDelivery);
  }

  async redeliver(id: string): Promise<boolean> {
    if (this.#x.sql(`UPDATE deliveries SET ${REOPEN} WHERE id = ?`).run(this.#x.now(), id).changes !== 1) return false;
    this.#x.addedWork('deliveries');
    return true;
  }

  async recover(accountId: number, since: Date): Promise<number> {
    const n = this.#x.sql(`UPDATE deliveries SET ${REOPEN} WHERE account_id = ? AND state = 'failed' AND created_at >= ?`).run(this.#x.now(), accountId, ms(since)).changes;
    if (n > 0) this.#x.addedWork('deliveries');
    return n;
  }

  async failPending(endpointId: string, error: string): Promise<number> {
    return this.#x
      .sql(`UPDATE deliveries SET state = 'failed', last_error = ?, lease_owner = NULL, lease_until = NULL WHERE endpoint_id = ? AND state = 'pending'`)
      .run(error, endpointId).changes;
  }

  async countByState(accountId?: number): Promise<Record<DeliveryState, number>> {
    const rows =
      accountId === undefined
        ? (this.#x.sql('SELECT state, count(*) AS n FROM deliveries GROUP BY state').all() as Row[])
        : (this.#x.sql('SELECT state, count(*) AS n FROM deliveries WHERE account_id = ? GROUP BY state').all(accountId) as Row[]);
    const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<DeliveryState, number>;
    for (const row of rows) counts[row.state as DeliveryState] = int(row.n);
    return counts;
  }

  async queueStats(): Promise<QueueStats> {
    const row = this.#x
      .sql(
        `SELECT
           count(*) FILTER (WHERE next_attempt_at <= :now AND (lease_until IS NULL OR lease_until < :now)) AS due,
           count(*) FILTER (WHERE lease_until >= :now) AS in_flight,
           -- A delivery whose lease ran out became due again when the lease ended.
           min(CASE WHEN next_attempt_at <= :now AND (lease_until IS NULL OR lease_until < :now)
                    THEN max(next_attempt_at, coalesce(lease_until, 0)) END) AS oldest_due_at
         FROM deliveries WHERE state = 'pending'`,
      )
      .get({ now: this.#x.now() }) as Row;
    return { due: int(row.due), inFlight: int(row.in_flight), oldestDueAt: dateOrNull(row.oldest_due_at) };
  }
}
