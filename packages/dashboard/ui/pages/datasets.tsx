import { useState } from 'preact/hooks';
import { unwrap, type DatasetVersion } from '@ferry/client';
import { useApp } from '../context';
import { useAction, useResource } from '../hooks';
import { href } from '../router';
import { Empty, ErrorNotice, formatNumber, Loading, PageHeader, TableWrap, Time } from '../components';

/** The catalog: every dataset this install exports, with its columns and limits. */
export function Datasets() {
  const { client } = useApp();
  const catalog = useResource(async () => unwrap(await client.GET('/datasets')), [client]);
  return (
    <>
      <PageHeader title="Datasets" />
      <ErrorNotice error={catalog.error} title="Could not load the catalog" />
      {!catalog.data && !catalog.error && <Loading />}
      {catalog.data?.datasets.length === 0 && <Empty title="This install has no dataset.">An operator adds datasets in Ferry's configuration (docs/configuration.md).</Empty>}
      <div class="cards">
        {catalog.data?.datasets.map((d) => (
          <article class="card" key={d.key} aria-label={`Dataset ${d.key}`}>
            <div class="card-head">
              <h2>
                <a href={href(`/datasets/${d.key}`)}>{d.key}</a>
              </h2>
              {catalog.data?.default === d.key && <span class="badge badge-muted">default</span>}
            </div>
            {d.description && <p>{d.description}</p>}
            <dl class="pairs">
              <dt>Columns</dt>
              <dd>{d.columns.length}</dd>
              <dt>Row limit per export</dt>
              <dd>{formatNumber(d.limits.maxRows)}</dd>
              <dt>Formats</dt>
              <dd>{d.formats.join(', ')}</dd>
              <dt>Versioned</dt>
              <dd>{d.primaryKey ? `yes, by ${d.primaryKey.join(', ')}` : 'no (no primary key)'}</dd>
            </dl>
            <div class="row-actions">
              <a class="button button-small" href={href(`/datasets/${d.key}`)}>
                Columns and versions
              </a>
              <a class="button button-small" href={href('/new', { dataset: d.key })}>
                Export from {d.key}
              </a>
            </div>
          </article>
        ))}
      </div>
    </>
  );
}

/** One dataset: its columns, and its published versions (publishing one takes the admin token). */
export function DatasetDetail({ datasetKey }: { datasetKey: string }) {
  const { client, admin } = useApp();
  const dataset = useResource(async () => unwrap(await client.GET('/datasets/{key}', { params: { path: { key: datasetKey } } })), [client, datasetKey]);
  const versions = useResource(
    async () => unwrap(await client.GET('/datasets/{key}/versions', { params: { path: { key: datasetKey }, query: { limit: 50 } } })),
    [client, datasetKey],
  );
  const [published, setPublished] = useState<DatasetVersion | null>(null);
  const publish = useAction(async () => {
    if (!admin) return;
    if (!confirm(`Publish a new version of ${datasetKey}? Every account is sent dataset.version.published.`)) return;
    setPublished(unwrap(await admin.POST('/datasets/{key}/versions', { params: { path: { key: datasetKey } } })));
    await versions.reload();
  });
  const d = dataset.data;
  return (
    <>
      <PageHeader title={`Dataset ${datasetKey}`}>
        <a class="button" href={href('/new', { dataset: datasetKey })}>
          Export from it
        </a>
      </PageHeader>
      <p class="breadcrumb">
        <a href={href('/datasets')}>Datasets</a> / {datasetKey}
      </p>
      <ErrorNotice error={dataset.error} title="Could not load the dataset" />
      {d?.description && <p>{d.description}</p>}
      <section aria-labelledby="columns-h">
        <h2 id="columns-h">Columns</h2>
        {!d && !dataset.error && <Loading />}
        {d && (
          <TableWrap label="Columns, table">
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">Type</th>
                <th scope="col">Role</th>
                <th scope="col">Aggregates</th>
                <th scope="col">Time buckets</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {d.columns.map((c) => (
                <tr key={c.name}>
                  <td>
                    <code>{c.name}</code>
                  </td>
                  <td>{c.type}</td>
                  <td>{c.role}</td>
                  <td>{c.aggregates.join(', ') || '—'}</td>
                  <td>{c.granularities.join(', ') || '—'}</td>
                  <td>{c.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
      </section>
      <section aria-labelledby="versions-h">
        <div class="section-head">
          <h2 id="versions-h">Versions</h2>
          {admin ? (
            <button type="button" class="button button-primary" onClick={() => publish.run()} disabled={publish.busy}>
              {publish.busy ? 'Publishing…' : 'Publish a version'}
            </button>
          ) : (
            <span class="hint">Publishing needs the admin token (sign in with it).</span>
          )}
        </div>
        {published && <p role="status">Published version {published.version_number} ({formatNumber(published.changed_row_count)} rows changed).</p>}
        <ErrorNotice error={publish.error} title="Could not publish" />
        <ErrorNotice error={versions.error} title="Could not load versions" />
        {versions.data?.data.length === 0 && <Empty title="No version published yet.">A version is a snapshot of the dataset plus what changed since the previous one; consumers sync from its cursor.</Empty>}
        {versions.data && versions.data.data.length > 0 && (
          <TableWrap label="Versions, table">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Published</th>
                <th scope="col">Rows</th>
                <th scope="col">Changed rows</th>
                <th scope="col">Cursor</th>
                <th scope="col">Previous cursor</th>
                <th scope="col">Notes</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.data.map((v) => (
                <tr key={v.version_number}>
                  <td class="num">{v.version_number}</td>
                  <td>
                    <Time iso={v.published_at} />
                  </td>
                  <td class="num">{formatNumber(v.row_count)}</td>
                  <td class="num">{formatNumber(v.changed_row_count)}</td>
                  <td>
                    <code class="hash">{v.cursor}</code>
                  </td>
                  <td>{v.previous_cursor ? <code class="hash">{v.previous_cursor}</code> : '—'}</td>
                  <td>
                    {v.requires_snapshot && 'full snapshot needed '}
                    {v.pruned_at && (
                      <>
                        pruned <Time iso={v.pruned_at} />
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
      </section>
    </>
  );
}
