import type {
  AttemptRecord,
  ClaimedDelivery,
  DeliveriesPart,
  Delivery,
  DeliveryClaim,
  DeliveryQuery,
  DeliverySettlement,
  DeliveryState,
  NewDelivery,
  QueueStats,
  SettledDelivery,
} from '@ferry/core';
import { dateOrNull, num, toAttempt, toDelivery, toEndpoint } from '../rows.js';
import type { Session } from '../session.js';

const STATES: readonly DeliveryState[] = ['pending', 'succeeded', 'failed'];

/** Pending, its next attempt due, and no live lease on it. */
const DUE = (alias: string) =>
  `(${alias}.state = 'pending' AND ${alias}.next_attempt_at <= $1 AND (${alias}.lease_until IS NULL OR ${alias}.lease_until <= $1))`;

/** The endpoint's columns beside a delivery's, prefixed `ep_` (see `toEndpoint`). */
const ENDPOINT_COLUMNS = [
  'id',
  'account_id',
  'url',
  'scheme',
  'secrets',
  'events',
  'description',
  'registered',
  'schedule_ms',
  'enabled',
  'disabled_reason',
  'failing_since',
  'created_at',
  'updated_at',
]
  .map((c) => `ep.${c} AS ep_${c}`)
  .join(', ');

/** Candidates beyond `limit`, so a claimer racing another one still finds work after skipping locked rows. */
const overSelect = (limit: number) => limit * 2 + 8;

export class PostgresDeliveries implements DeliveriesPart {
  constructor(private readonly s: Session) {}

  private get table(): string {
    return this.s.t.deliveries;
  }

  async insert(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    // The endpoint's URL is copied beside the delivery so its history still names a URL after the
    // endpoint is deleted; while the endpoint exists, reads show its current URL.
    const inserted = await this.s.changed(
      `INSERT INTO ${this.table} (id, account_id, endpoint_id, endpoint_url, message_id, export_id, event_type, body, headers, state,
           next_attempt_at, created_at)
         SELECT n.id, n.account_id, n.endpoint_id, ep.url, n.message_id, n.export_id, n.event_type, n.body, n.headers, 'pending', $10, n.created_at
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
              WITH ORDINALITY AS n(id, account_id, endpoint_id, message_id, export_id, event_type, body, headers, created_at, ord)
         LEFT JOIN ${this.s.t.endpoints} ep ON ep.id = n.endpoint_id
         ORDER BY n.ord
         ON CONFLICT (id) DO NOTHING`,
      [
        deliveries.map((d) => d.id),
        deliveries.map((d) => d.accountId),
        deliveries.map((d) => d.endpointId),
        deliveries.map((d) => d.messageId),
        deliveries.map((d) => d.exportId),
        deliveries.map((d) => d.eventType),
        deliveries.map((d) => d.body),
        deliveries.map((d) => JSON.stringify(d.headers)),
        deliveries.map((d) => d.createdAt),
        this.s.now(),
      ],
    );
    if (inserted > 0) this.s.announce('deliveries');
  }

  async claim(owner: string, claim: DeliveryClaim): Promise<ClaimedDelivery[]> {
    if (claim.limit <= 0 || claim.maxInFlightPerEndpoint <= 0) return [];
    const now = this.s.now();
    // As for exports: rank per endpoint in a CTE (no window function beside FOR UPDATE), apply the
    // per-endpoint cap, then lock what is still due with SKIP LOCKED and lease it, in one statement.
    // Only an endpoint's first `cap` due deliveries can be under its cap, and only its first
    // `overSelect` can make the cut (its earlier ones all come first): so only that head of each
    // endpoint's queue is read, the endpoints found by a loose index scan. The claim does not grow
    // with the backlog. The claimer's own settling deliveries ($7) hold no receiver: not counted.
    const rows = await this.s.rows(
      `WITH RECURSIVE pending_endpoints AS (
         (SELECT endpoint_id FROM ${this.table} WHERE state = 'pending' ORDER BY endpoint_id LIMIT 1)
         UNION ALL
         SELECT (SELECT d.endpoint_id FROM ${this.table} d WHERE d.state = 'pending' AND d.endpoint_id > p.endpoint_id ORDER BY d.endpoint_id LIMIT 1)
         FROM pending_endpoints p WHERE p.endpoint_id IS NOT NULL
       ), in_flight AS (
         SELECT endpoint_id, count(*) AS n FROM ${this.table}
         WHERE state = 'pending' AND lease_until > $1 AND NOT (lease_owner = $2 AND id = ANY($7::text[]))
         GROUP BY endpoint_id
       ), due AS (
         SELECT h.id, h.endpoint_id, h.next_attempt_at, h.seq,
                row_number() OVER (PARTITION BY h.endpoint_id ORDER BY h.next_attempt_at, h.seq) AS rank
         FROM pending_endpoints p JOIN ${this.s.t.endpoints} ep ON ep.id = p.endpoint_id
         CROSS JOIN LATERAL (
           SELECT d.id, d.endpoint_id, d.next_attempt_at, d.seq FROM ${this.table} d
           WHERE d.endpoint_id = p.endpoint_id AND ${DUE('d')}
           ORDER BY d.next_attempt_at, d.seq
           LIMIT least($4::bigint, $5::bigint)
         ) h
       ), candidates AS (
         SELECT due.id, due.next_attempt_at, due.seq
         FROM due LEFT JOIN in_flight f ON f.endpoint_id = due.endpoint_id
         WHERE coalesce(f.n, 0) + due.rank <= $4
         ORDER BY due.next_attempt_at, due.seq
         LIMIT $5
       ), locked AS (
         SELECT d.id
         FROM ${this.table} d JOIN candidates c ON c.id = d.id
         WHERE ${DUE('d')}
         ORDER BY c.next_attempt_at, c.seq
         LIMIT $6
         FOR UPDATE OF d SKIP LOCKED
       ), claimed AS (
         UPDATE ${this.table} d SET lease_owner = $2, lease_until = $3
         FROM locked WHERE d.id = locked.id
         RETURNING d.*
       )
       SELECT c.*, ep.url AS url, ${ENDPOINT_COLUMNS}
       FROM claimed c JOIN ${this.s.t.endpoints} ep ON ep.id = c.endpoint_id
       ORDER BY c.next_attempt_at, c.seq`,
      [now, owner, new Date(now.getTime() + claim.leaseMs), claim.maxInFlightPerEndpoint, overSelect(claim.limit), claim.limit, claim.settling ?? []],
    );
    return rows.map((row): ClaimedDelivery => ({ ...toDelivery(row), endpoint: toEndpoint(row, 'ep_'), retryIndex: num(row.retry_index) }));
  }

  async settle(owner: string, settlements: readonly DeliverySettlement[]): Promise<SettledDelivery[]> {
    if (settlements.length === 0) return [];
    // One statement: advance the deliveries this owner still holds, log one attempt for each
    // (numbered by the new attempt count), and report which were settled, with whether their
    // endpoint is in a run of failures (so a batch of successes to healthy endpoints needs nothing more).
    const rows = await this.s.rows(
      `WITH s AS (
         SELECT DISTINCT ON (id) *
         FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::integer[], $7::integer[], $8::text[], $9::text[])
              WITH ORDINALITY AS s(id, state, next_at, at, duration_ms, status, error, response_body, ord)
         ORDER BY id, ord
       ), settled AS (
         UPDATE ${this.table} d
         SET attempts = d.attempts + 1, retry_index = d.retry_index + 1, state = s.state,
             next_attempt_at = coalesce(s.next_at, d.next_attempt_at), last_error = s.error, last_status = s.status,
             lease_owner = NULL, lease_until = NULL
         FROM s
         WHERE d.id = s.id AND d.lease_owner = $1 AND d.state = 'pending'
         RETURNING d.id, d.attempts, d.endpoint_id, d.account_id
       ), logged AS (
         INSERT INTO ${this.s.t.attempts} (delivery_id, n, at, duration_ms, status, error, response_body)
         SELECT st.id, st.attempts, s.at, s.duration_ms, s.status, s.error, s.response_body
         FROM settled st JOIN s ON s.id = st.id
       )
       SELECT st.id, st.endpoint_id, st.account_id, ep.failing_since IS NOT NULL AS endpoint_failing
       FROM settled st LEFT JOIN ${this.s.t.endpoints} ep ON ep.id = st.endpoint_id`,
      [
        owner,
        settlements.map((x) => x.deliveryId),
        settlements.map((x) => x.next.state),
        settlements.map((x) => (x.next.state === 'pending' ? x.next.nextAttemptAt : null)),
        settlements.map((x) => x.attempt.at),
        settlements.map((x) => Math.round(x.attempt.durationMs)),
        settlements.map((x) => x.attempt.status),
        settlements.map((x) => x.attempt.error),
        settlements.map((x) => x.attempt.responseBody),
      ],
    );
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    const out: SettledDelivery[] = [];
    for (const x of settlements) {
      const row = byId.get(x.deliveryId);
      if (!row) continue;
      byId.delete(x.deliveryId);
      out.push({ deliveryId: x.deliveryId, endpointId: String(row.endpoint_id), accountId: num(row.account_id), endpointFailing: row.endpoint_failing === true });
    }
    return out;
  }

  private select(where: string): string {
    return `SELECT d.*, coalesce(ep.url, d.endpoint_url) AS url
            FROM ${this.table} d LEFT JOIN ${this.s.t.endpoints} ep ON ep.id = d.endpoint_id
            WHERE ${where}`;
  }

  async get(id: string): Promise<(Delivery & { attemptLog: AttemptRecord[] }) | null> {
    return this.s.atomic(async (s) => {
      const row = await s.one(this.select('d.id = $1'), [id]);
      if (!row) return null;
      const attempts = await s.rows(`SELECT * FROM ${s.t.attempts} WHERE delivery_id = $1 ORDER BY n`, [id]);
      return { ...toDelivery(row), attemptLog: attempts.map(toAttempt) };
    });
  }

  async list(accountId: number, query: DeliveryQuery): Promise<Delivery[]> {
    const where = ['d.account_id = $1'];
    const values: unknown[] = [accountId];
    const add = (condition: (p: string) => string, value: unknown): void => {
      values.push(value);
      where.push(condition(`$${values.length}`));
    };
    if (query.state !== undefined) add((p) => `d.state = ${p}`, query.state);
    if (query.endpointId !== undefined) add((p) => `d.endpoint_id = ${p}`, query.endpointId);
    if (query.exportId !== undefined) add((p) => `d.export_id = ${p}`, query.exportId);
    if (query.since !== undefined) add((p) => `d.created_at >= ${p}`, query.since);
    if (query.startingAfter !== undefined) add((p) => `d.seq > (SELECT seq FROM ${this.table} WHERE id = ${p})`, query.startingAfter);
    values.push(query.limit);
    const rows = await this.s.rows(`${this.select(where.join(' AND '))} ORDER BY d.seq LIMIT $${values.length}`, values);
    return rows.map(toDelivery);
  }

  /** Pending again from the start of the schedule, due now, and announced. `$1` is now; `where`'s own values start at `$2`. */
  private async restart(where: string, values: readonly unknown[]): Promise<number> {
    const restarted = await this.s.changed(
      `UPDATE ${this.table} d
       SET state = 'pending', retry_index = 0, next_attempt_at = $1, lease_owner = NULL, lease_until = NULL
       WHERE ${where}`,
      [this.s.now(), ...values],
    );
    if (restarted > 0) this.s.announce('deliveries');
    return restarted;
  }

  async redeliver(id: string): Promise<boolean> {
    return (await this.restart('d.id = $2', [id])) === 1;
  }

  async recover(accountId: number, since: Date): Promise<number> {
    return this.restart(`d.account_id = $2 AND d.state = 'failed' AND d.created_at >= $3`, [accountId, since]);
  }

  async failPending(endpointId: string, error: string): Promise<number> {
    return this.s.changed(
      `UPDATE ${this.table} SET state = 'failed', last_error = $2, lease_owner = NULL, lease_until = NULL WHERE endpoint_id = $1 AND state = 'pending'`,
      [endpointId, error],
    );
  }

  async countByState(accountId?: number): Promise<Record<DeliveryState, number>> {
    const rows =
      accountId === undefined
        ? await this.s.rows(`SELECT state, count(*) AS n FROM ${this.table} GROUP BY state`)
        : await this.s.rows(`SELECT state, count(*) AS n FROM ${this.table} WHERE account_id = $1 GROUP BY state`, [accountId]);
    const counts = Object.fromEntries(STATES.map((state) => [state, 0])) as Record<DeliveryState, number>;
    for (const row of rows) counts[row.state as DeliveryState] = num(row.n);
    return counts;
  }

  async queueStats(): Promise<QueueStats> {
    const row = await this.s.one(
      `SELECT count(*) FILTER (WHERE ${DUE('d')}) AS due,
              count(*) FILTER (WHERE d.lease_until > $1) AS in_flight,
              min(greatest(d.next_attempt_at, d.lease_until)) FILTER (WHERE ${DUE('d')}) AS oldest
       FROM ${this.table} d
       WHERE d.state = 'pending'`,
      [this.s.now()],
    );
    return { due: num(row?.due ?? 0), inFlight: num(row?.in_flight ?? 0), oldestDueAt: dateOrNull(row?.oldest) };
  }
}
