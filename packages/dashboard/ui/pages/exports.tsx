import { useState } from 'preact/hooks';
import { unwrap, type ExportState, type ExportSummary } from '@ferry/client';
import { useApp } from '../context';
import { useAction, useResource } from '../hooks';
import { href, navigate, type Route } from '../router';
import { Empty, ErrorNotice, Field, formatBytes, formatNumber, Loading, PageHeader, StateBadge, TableWrap, Time } from '../components';

const STATES: ExportState[] = ['queued', 'running', 'completed', 'failed', 'expired'];
const PAGE = 20;
export const isActive = (state: string) => state === 'queued' || state === 'running';

/**
 * The account's exports, newest first. The state filter is the API's; dataset and name narrow the
 * loaded rows. While any shown export is queued or running the list refreshes every 2 seconds,
 * so rows and bytes move as the worker reports them.
 */
export function Exports({ route }: { route: Route }) {
  const { client } = useApp();
  const stateFilter = (route.query.get('state') ?? '') as ExportState | '';
  const [dataset, setDataset] = useState('');
  const [name, setName] = useState('');
  const [shown, setShown] = useState(PAGE);

  const list = useResource(
    async () => unwrap(await client.GET('/dataset/export', { params: { query: { limit: Math.min(shown, 100), ...(stateFilter ? { state: stateFilter } : {}) } } })),
    [client, stateFilter, shown],
    { every: (data) => (data?.data.some((e) => isActive(e.state)) ? 2000 : false) },
  );
  const catalog = useResource(async () => unwrap(await client.GET('/datasets')), [client]);
  const cancel = useAction(async (e: ExportSummary) => {
    if (!confirm(`Cancel the export "${e.name}"?`)) return;
    unwrap(await client.POST('/dataset/export/{queryUUID}/cancel', { params: { path: { queryUUID: e.queryUUID } } }));
    await list.reload();
  });

  const rows = (list.data?.data ?? []).filter((e) => (!dataset || e.dataset === dataset) && (!name || e.name.toLowerCase().includes(name.toLowerCase())));
  const filtered = !!(stateFilter || dataset || name);
  return (
    <>
      <PageHeader title="Exports">
        <a class="button button-primary" href={href('/new')}>
          New export
        </a>
      </PageHeader>
      <form class="filters" aria-label="Filter exports" onSubmit={(e) => e.preventDefault()}>
        <Field id="filter-state" label="State">
          <select id="filter-state" value={stateFilter} onChange={(e) => navigate('/exports', { state: e.currentTarget.value })}>
            <option value="">Any state</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        <Field id="filter-dataset" label="Dataset">
          <select id="filter-dataset" value={dataset} onChange={(e) => setDataset(e.currentTarget.value)}>
            <option value="">Any dataset</option>
            {catalog.data?.datasets.map((d) => (
              <option key={d.key} value={d.key}>
                {d.key}
              </option>
            ))}
          </select>
        </Field>
        <Field id="filter-name" label="Name contains">
          <input id="filter-name" type="search" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
      </form>
      <ErrorNotice error={list.error} title="Could not load exports" />
      <ErrorNotice error={cancel.error} title="Could not cancel" />
      {!list.data && !list.error && <Loading />}
      {list.data && rows.length === 0 && (
        <Empty title={filtered ? 'No export matches these filters.' : 'No exports yet.'}>
          {filtered ? 'Change the filters above.' : <a href={href('/new')}>Build your first export</a>}
        </Empty>
      )}
      {rows.length > 0 && (
        <TableWrap label="Exports">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Dataset</th>
              <th scope="col">Format</th>
              <th scope="col">State</th>
              <th scope="col">Rows</th>
              <th scope="col">Bytes</th>
              <th scope="col">Requested</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.queryUUID}>
                <td>
                  <a href={href(`/exports/${e.queryUUID}`)}>{e.name}</a>
                  {e.error && <div class="cell-note">{e.error}</div>}
                </td>
                <td>{e.dataset}</td>
                <td>{e.format}</td>
                <td>
                  <StateBadge state={e.state} />
                </td>
                <td class="num">{formatNumber(e.numberRows ?? e.progress.rows)}</td>
                <td class="num">{formatBytes(e.progress.bytes)}</td>
                <td>
                  <Time iso={e.requestedOn} />
                </td>
                <td>
                  {isActive(e.state) && (
                    <button type="button" class="button button-small button-danger" disabled={cancel.busy} onClick={() => cancel.run(e)} aria-label={`Cancel ${e.name}`}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      {list.data?.hasMore && shown < 100 && (
        <p>
          <button type="button" class="button" onClick={() => setShown(shown + PAGE)}>
            Show more
          </button>
        </p>
      )}
      {list.data?.hasMore && shown >= 100 && <p class="muted">The 100 newest are shown; narrow the list with the state filter.</p>}
    </>
  );
}
