import { unwrap, type Schedule } from '@ferry/client';
import { useApp } from '../context';
import { useAction, useResource } from '../hooks';
import { href } from '../router';
import { Empty, ErrorNotice, Loading, PageHeader, TableWrap, Time } from '../components';

/** Saved exports that run on a cron schedule. New ones are built in the query builder. */
export function Schedules() {
  const { client } = useApp();
  const list = useResource(async () => unwrap(await client.GET('/exports/schedules')).data, [client]);
  const remove = useAction(async (s: Schedule) => {
    if (!confirm(`Delete the schedule "${s.name}"? Exports it already ran are kept.`)) return;
    unwrap(await client.DELETE('/exports/schedules/{id}', { params: { path: { id: s.id } } }));
    await list.reload();
  });
  return (
    <>
      <PageHeader title="Schedules">
        <a class="button button-primary" href={href('/new', { mode: 'schedule' })}>
          New schedule
        </a>
      </PageHeader>
      <ErrorNotice error={list.error} title="Could not load schedules" />
      <ErrorNotice error={remove.error} title="Could not delete" />
      {!list.data && !list.error && <Loading />}
      {list.data?.length === 0 && (
        <Empty title="No scheduled export.">
          <a href={href('/new', { mode: 'schedule' })}>Build one</a>: any export can run on a cron schedule.
        </Empty>
      )}
      {list.data && list.data.length > 0 && (
        <TableWrap label="Schedules">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cron (UTC)</th>
              <th scope="col">Dataset</th>
              <th scope="col">Next run</th>
              <th scope="col">Last run</th>
              <th scope="col">Request</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td>
                <td>
                  <code>{s.cron}</code>
                </td>
                <td>{s.dataset}</td>
                <td>
                  <Time iso={s.nextRunAt} />
                </td>
                <td>
                  <Time iso={s.lastRunAt} />
                </td>
                <td>
                  <details>
                    <summary>JSON</summary>
                    <pre class="code">{JSON.stringify(s.request, null, 2)}</pre>
                  </details>
                </td>
                <td>
                  <button type="button" class="button button-small button-danger" onClick={() => remove.run(s)} disabled={remove.busy} aria-label={`Delete ${s.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
    </>
  );
}
