import { unwrap } from '@ferry/client';
import { useApp } from '../context';
import { useResource } from '../hooks';
import { DAY_MS, deliveriesSince, eventsSince, exportsInState } from '../lists';
import { href } from '../router';
import { Empty, ErrorNotice, formatAge, formatBytes, formatNumber, Loading, PageHeader, Stat, StateBadge, TableWrap, Time } from '../components';

const atLeast = (n: number, complete: boolean) => `${formatNumber(n)}${complete ? '' : '+'}`;

/** What is happening now and what went wrong in the last 24 hours. Refreshes every 5 seconds. */
export function Overview() {
  const { client } = useApp();
  const overview = useResource(
    async () => {
      const since = new Date(Date.now() - DAY_MS);
      const [queued, running, failed, completed, deliveries, stats] = await Promise.all([
        exportsInState(client, 'queued'),
        exportsInState(client, 'running'),
        eventsSince(client, since, 'export.failed'),
        eventsSince(client, since, 'export.completed'),
        deliveriesSince(client, since),
        client.GET('/webhooks/stats').then(unwrap),
      ]);
      const byState = { pending: 0, succeeded: 0, failed: 0 };
      for (const d of deliveries.items) byState[d.state]++;
      // The list is newest first: the oldest queued export is the last one.
      const oldestQueued = queued.complete ? queued.items[queued.items.length - 1] : undefined;
      return { queued, running, failed, completed, deliveries, byState, stats, oldestQueued, at: Date.now() };
    },
    [client],
    { every: () => 5000 },
  );
  const o = overview.data;
  const active = o ? [...o.running.items, ...o.queued.items] : [];
  return (
    <>
      <PageHeader title="Overview">
        <a class="button button-primary" href={href('/new')}>
          New export
        </a>
      </PageHeader>
      <ErrorNotice error={overview.error} title="Could not load the overview" />
      {!o && !overview.error && <Loading />}
      {o && (
        <>
          <section aria-labelledby="now-h">
            <h2 id="now-h">Now</h2>
            <dl class="stats">
              <Stat label="Queued exports" value={atLeast(o.queued.items.length, o.queued.complete)} />
              <Stat label="Running exports" value={atLeast(o.running.items.length, o.running.complete)} />
              <Stat
                label="Oldest queued"
                value={o.oldestQueued ? formatAge(o.at - Date.parse(o.oldestQueued.requestedOn)) : o.queued.items.length ? 'many queued' : 'none'}
                hint={o.oldestQueued ? <a href={href(`/exports/${o.oldestQueued.queryUUID}`)}>{o.oldestQueued.name}</a> : undefined}
              />
              <Stat label="Deliveries waiting to be sent" value={formatNumber(o.stats.stored.pending)} />
            </dl>
          </section>
          <section aria-labelledby="day-h">
            <h2 id="day-h">Last 24 hours</h2>
            <dl class="stats">
              <Stat label="Exports completed" value={atLeast(o.completed.items.length, o.completed.complete)} />
              <Stat label="Exports failed" value={atLeast(o.failed.items.length, o.failed.complete)} hint={o.failed.items.length ? <a href={href('/exports', { state: 'failed' })}>See failed exports</a> : undefined} />
              <Stat label="Deliveries succeeded" value={atLeast(o.byState.succeeded, o.deliveries.complete)} />
              <Stat
                label="Deliveries failed"
                value={atLeast(o.byState.failed, o.deliveries.complete)}
                hint={o.byState.failed ? <a href={href('/deliveries', { status: 'failed' })}>Review and redeliver</a> : undefined}
              />
              <Stat label="Deliveries pending" value={atLeast(o.byState.pending, o.deliveries.complete)} />
            </dl>
          </section>
          <section aria-labelledby="active-h">
            <h2 id="active-h">Queued and running exports</h2>
            {active.length === 0 ? (
              <Empty title="No export is queued or running.">
                <a href={href('/new')}>Start an export</a>, or see <a href={href('/exports')}>all exports</a>.
              </Empty>
            ) : (
              <TableWrap label="Queued and running exports, table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">State</th>
                    <th scope="col">Rows</th>
                    <th scope="col">Bytes</th>
                    <th scope="col">Requested</th>
                  </tr>
                </thead>
                <tbody>
                  {active.map((e) => (
                    <tr key={e.queryUUID}>
                      <td>
                        <a href={href(`/exports/${e.queryUUID}`)}>{e.name}</a>
                      </td>
                      <td>
                        <StateBadge state={e.state} />
                      </td>
                      <td class="num">{formatNumber(e.progress.rows)}</td>
                      <td class="num">{formatBytes(e.progress.bytes)}</td>
                      <td>
                        <Time iso={e.requestedOn} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </TableWrap>
            )}
          </section>
        </>
      )}
    </>
  );
}
