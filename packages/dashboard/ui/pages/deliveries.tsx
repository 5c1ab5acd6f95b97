import { useMemo, useState } from 'preact/hooks';
import { unwrap, type Delivery } from '@ferry/client';
import type { components } from '@ferry/client';
import { useApp } from '../context';
import { useAction, useResource } from '../hooks';
import { DAY_MS, deliveriesSince } from '../lists';
import { href, navigate, type Route } from '../router';
import { Empty, ErrorNotice, Field, formatNumber, Loading, PageHeader, StateBadge, TableWrap, Time } from '../components';

type DeliveryDetail = components['schemas']['DeliveryDetail'];
const STATUSES = ['pending', 'succeeded', 'failed'] as const;

/** `2026-05-01T10:00` for a datetime-local input, in the reader's time zone. */
export function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * The delivery log, newest first, filtered by state, endpoint and time; each delivery opens to its
 * attempt log and can be sent again. Failed deliveries since a time can be recovered in one go.
 */
export function Deliveries({ route }: { route: Route }) {
  const { client } = useApp();
  const status = (route.query.get('status') ?? '') as (typeof STATUSES)[number] | '';
  const endpoint = route.query.get('endpoint') ?? '';
  const [since, setSince] = useState(() => localInputValue(new Date(Date.now() - DAY_MS)));
  const sinceDate = useMemo(() => (Number.isNaN(Date.parse(since)) ? new Date(Date.now() - DAY_MS) : new Date(since)), [since]);
  const list = useResource(
    async () => {
      const got = await deliveriesSince(client, sinceDate, { ...(status ? { status } : {}), ...(endpoint ? { endpoint } : {}) }, 5);
      return { ...got, items: got.items.reverse() };
    },
    [client, status, endpoint, sinceDate.getTime()],
    { every: (data) => (data?.items.some((d) => d.state === 'pending') ? 3000 : false) },
  );
  const endpoints = useResource(async () => unwrap(await client.GET('/webhooks/endpoints')).data, [client]);
  const setQuery = (change: Record<string, string>) => navigate('/deliveries', { status, endpoint, ...change });

  return (
    <>
      <PageHeader title="Deliveries" />
      <form class="filters" aria-label="Filter deliveries" onSubmit={(e) => e.preventDefault()}>
        <Field id="filter-status" label="State">
          <select id="filter-status" value={status} onChange={(e) => setQuery({ status: e.currentTarget.value })}>
            <option value="">Any state</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        <Field id="filter-endpoint" label="Endpoint">
          <select id="filter-endpoint" value={endpoint} onChange={(e) => setQuery({ endpoint: e.currentTarget.value })}>
            <option value="">Any endpoint</option>
            {endpoints.data?.map((ep) => (
              <option key={ep.id} value={ep.id}>
                {ep.description ? `${ep.description} (${ep.url})` : ep.url}
              </option>
            ))}
          </select>
        </Field>
        <Field id="filter-since" label="Since">
          <input id="filter-since" type="datetime-local" value={since} onChange={(e) => setSince(e.currentTarget.value)} />
        </Field>
      </form>
      <Recover onRecovered={list.reload} />
      <ErrorNotice error={list.error} title="Could not load deliveries" />
      {!list.data && !list.error && <Loading />}
      {list.data && list.data.items.length === 0 && (
        <Empty title="No delivery matches.">Deliveries appear when an export you submitted completes or fails, and for the events your endpoints subscribe to.</Empty>
      )}
      {list.data && list.data.items.length > 0 && (
        <>
          {!list.data.complete && <p class="muted">Showing the first {formatNumber(list.data.items.length)} deliveries since that time; pick a later time to see the newest.</p>}
          <ul class="delivery-list" aria-label="Deliveries">
            {list.data.items.map((d) => (
              <DeliveryRow key={d.id} delivery={d} onChange={list.reload} />
            ))}
          </ul>
        </>
      )}
    </>
  );
}

function Recover({ onRecovered }: { onRecovered: () => Promise<void> }) {
  const { client } = useApp();
  const [since, setSince] = useState(() => localInputValue(new Date(Date.now() - DAY_MS)));
  const [recovered, setRecovered] = useState<number | null>(null);
  const recover = useAction(async () => {
    const result = unwrap(await client.POST('/webhooks/deliveries/recover', { body: { since: new Date(since).toISOString() } }));
    setRecovered(result.recovered);
    await onRecovered();
  });
  return (
    <details class="card">
      <summary>Recover failed deliveries</summary>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void recover.run();
        }}
      >
        <Field id="recover-since" label="Redeliver every failed delivery since">
          <input id="recover-since" type="datetime-local" required value={since} onChange={(e) => setSince(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="button" disabled={recover.busy}>
          Recover
        </button>
      </form>
      {recovered !== null && (
        <p role="status">
          {recovered === 0 ? 'No failed delivery since then.' : `${formatNumber(recovered)} ${recovered === 1 ? 'delivery is' : 'deliveries are'} queued again.`}
        </p>
      )}
      <ErrorNotice error={recover.error} title="Could not recover" />
    </details>
  );
}

function DeliveryRow({ delivery: d, onChange }: { delivery: Delivery; onChange: () => Promise<void> }) {
  const { client } = useApp();
  const [open, setOpen] = useState(false);
  const redeliver = useAction(async () => {
    unwrap(await client.POST('/webhooks/deliveries/{id}/redeliver', { params: { path: { id: d.id } } }));
    await onChange();
  });
  return (
    <li class="card delivery" aria-label={`${d.event} delivery, ${d.state}`}>
      <div class="card-head">
        <div>
          <a href={href(`/deliveries/${d.id}`)} class="strong">
            {d.event}
          </a>{' '}
          <StateBadge state={d.state} />
          <div class="muted small">
            <Time iso={d.createdAt} /> · to <code>{d.url}</code> · {d.attempts} {d.attempts === 1 ? 'attempt' : 'attempts'}
            {d.lastStatus !== null && <> · last answer {d.lastStatus}</>}
            {d.state === 'pending' && d.nextAttemptAt && (
              <>
                {' '}
                · next try <Time iso={d.nextAttemptAt} />
              </>
            )}
          </div>
          {d.lastError && <div class="cell-note">{d.lastError}</div>}
        </div>
        <div class="row-actions">
          <button type="button" class="button button-small" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide attempts' : 'Show attempts'}
          </button>
          <button type="button" class="button button-small" onClick={() => redeliver.run()} disabled={redeliver.busy}>
            Redeliver
          </button>
        </div>
      </div>
      <ErrorNotice error={redeliver.error} title="Could not redeliver" />
      {open && <AttemptsOf id={d.id} version={`${d.state}:${d.attempts}`} />}
    </li>
  );
}

function AttemptsOf({ id, version }: { id: string; version: string }) {
  const { client } = useApp();
  const detail = useResource(async () => unwrap(await client.GET('/webhooks/deliveries/{id}', { params: { path: { id } } })), [client, id, version]);
  if (detail.error) return <ErrorNotice error={detail.error} title="Could not load the attempts" />;
  if (!detail.data) return <Loading what="Loading attempts" />;
  return <AttemptLog delivery={detail.data} />;
}

/** Every attempt of a delivery: when, the receiver's status, how long it took, what it answered. */
export function AttemptLog({ delivery }: { delivery: DeliveryDetail }) {
  if (delivery.attemptLog.length === 0) return <p class="muted">No attempt yet{delivery.nextAttemptAt ? '; the first is due soon' : ''}.</p>;
  return (
    <TableWrap label={`Attempts of ${delivery.event}`}>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">At</th>
          <th scope="col">Status</th>
          <th scope="col">Latency</th>
          <th scope="col">Response</th>
        </tr>
      </thead>
      <tbody>
        {delivery.attemptLog.map((a) => (
          <tr key={a.n}>
            <td class="num">{a.n}</td>
            <td>
              <Time iso={a.at} />
            </td>
            <td>{a.status === null ? <span class="badge badge-bad">no answer</span> : <span class={`badge ${a.status < 300 ? 'badge-ok' : 'badge-bad'}`}>{a.status}</span>}</td>
            <td class="num">{formatNumber(a.durationMs)} ms</td>
            <td>
              {a.error && <div class="cell-note">{a.error}</div>}
              {a.responseBody ? <code class="excerpt">{a.responseBody.slice(0, 500)}</code> : !a.error && <span class="muted">(empty)</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </TableWrap>
  );
}

/** One delivery on its own page (linked from exports and endpoints). */
export function DeliveryPage({ id }: { id: string }) {
  const { client } = useApp();
  const detail = useResource(async () => unwrap(await client.GET('/webhooks/deliveries/{id}', { params: { path: { id } } })), [client, id], {
    every: (d) => (d?.state === 'pending' ? 2000 : false),
  });
  const redeliver = useAction(async () => {
    unwrap(await client.POST('/webhooks/deliveries/{id}/redeliver', { params: { path: { id } } }));
    await detail.reload();
  });
  const d = detail.data;
  return (
    <>
      <PageHeader title={d ? `Delivery: ${d.event}` : 'Delivery'}>
        {d && (
          <button type="button" class="button" onClick={() => redeliver.run()} disabled={redeliver.busy}>
            Redeliver
          </button>
        )}
      </PageHeader>
      <p class="breadcrumb">
        <a href={href('/deliveries')}>Deliveries</a> / <code>{id}</code>
      </p>
      <ErrorNotice error={detail.error} title="Could not load the delivery" />
      <ErrorNotice error={redeliver.error} title="Could not redeliver" />
      {!d && !detail.error && <Loading />}
      {d && (
        <>
          <dl class="pairs">
            <dt>State</dt>
            <dd>
              <StateBadge state={d.state} />
            </dd>
            <dt>Endpoint</dt>
            <dd>
              <code>{d.url}</code>
            </dd>
            <dt>webhook-id</dt>
            <dd>
              <code>{d.webhookId}</code> (the same on every attempt and redelivery: receivers dedupe on it)
            </dd>
            <dt>Created</dt>
            <dd>
              <Time iso={d.createdAt} />
            </dd>
            {d.exportId && (
              <>
                <dt>Export</dt>
                <dd>
                  <a href={href(`/exports/${d.exportId}`)}>{d.exportId}</a>
                </dd>
              </>
            )}
            {d.state === 'pending' && d.nextAttemptAt && (
              <>
                <dt>Next attempt</dt>
                <dd>
                  <Time iso={d.nextAttemptAt} />
                </dd>
              </>
            )}
          </dl>
          <h2>Attempts</h2>
          <AttemptLog delivery={d} />
        </>
      )}
    </>
  );
}
