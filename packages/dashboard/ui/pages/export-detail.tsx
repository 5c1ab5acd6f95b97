import { unwrap, type ExportStatus, type FerryEvent } from '@ferry/client';
import { useApp } from '../context';
import { useAction, useResource } from '../hooks';
import { eventsSince } from '../lists';
import { href } from '../router';
import { submittedRequest } from '../session';
import { Empty, ErrorNotice, formatBytes, formatNumber, Loading, PageHeader, StateBadge, TableWrap, Time } from '../components';
import { isActive } from './exports';
import { AttemptLog } from './deliveries';

type ExportEventData = { object?: { uuid?: string; filters?: unknown; failed_reason?: string } };

/**
 * One export: its query, its lifecycle, its files and the webhook deliveries about it. Refreshes
 * every 1.5 seconds until the export ends.
 */
export function ExportDetail({ id }: { id: string }) {
  const { client } = useApp();
  const status = useResource(async () => unwrap(await client.GET('/dataset/export/{queryUUID}', { params: { path: { queryUUID: id } } })), [client, id], {
    // Quickly while it runs; slowly after, for downloads and webhook deliveries.
    every: (s) => (!s || isActive(s.state) ? 1500 : 5000),
  });
  const s = status.data;
  // The lifecycle events (requested, failed, downloads) of this export, from the account's event feed.
  const events = useResource(
    async () => {
      if (!s) return [];
      const since = new Date(Date.parse(s.requestedOn) - 1000);
      const { items } = await eventsSince(client, since);
      return items.filter((e) => (e.data as ExportEventData).object?.uuid === id);
    },
    [client, id, s?.state, s?.download?.downloads],
  );
  const cancel = useAction(async () => {
    if (!s || !confirm(`Cancel the export "${s.name}"?`)) return;
    unwrap(await client.POST('/dataset/export/{queryUUID}/cancel', { params: { path: { queryUUID: id } } }));
    await status.reload();
  });

  if (status.error && !s) {
    return (
      <>
        <PageHeader title="Export" />
        <ErrorNotice error={status.error} title="Could not load this export" />
        <p>
          <a href={href('/exports')}>Back to exports</a>
        </p>
      </>
    );
  }
  if (!s) return <Loading what="Loading the export" />;
  return (
    <>
      <PageHeader title={s.name}>
        {isActive(s.state) && (
          <button type="button" class="button button-danger" onClick={() => cancel.run()} disabled={cancel.busy}>
            Cancel export
          </button>
        )}
        {s.state === 'completed' &&
          s.files.length === 1 &&
          s.files.map((f) => (
            <a key={f.url} class="button button-primary" href={f.url} download={f.fileName}>
              Download {f.fileName}
            </a>
          ))}
      </PageHeader>
      <p class="breadcrumb">
        <a href={href('/exports')}>Exports</a> / <code>{s.queryUUID}</code>
      </p>
      <ErrorNotice error={cancel.error} title="Could not cancel" />
      <ErrorNotice error={status.error} title="Could not refresh" />
      <dl class="stats">
        <div class="stat">
          <dt>State</dt>
          <dd>
            <StateBadge state={s.state} />
          </dd>
        </div>
        <div class="stat">
          <dt>Rows</dt>
          <dd class="stat-value" data-testid="rows">
            {formatNumber(s.numberRows ?? s.progress.rows)}
          </dd>
        </div>
        <div class="stat">
          <dt>Bytes</dt>
          <dd class="stat-value">{formatBytes(s.progress.bytes)}</dd>
        </div>
        <div class="stat">
          <dt>Attempts</dt>
          <dd class="stat-value">{s.attempts}</dd>
        </div>
      </dl>
      {s.state === 'failed' && s.error && (
        <div class="notice notice-error" role="alert">
          <p class="notice-title">This export failed</p>
          <p>{s.error}</p>
        </div>
      )}
      <div class="columns">
        <section aria-labelledby="query-h">
          <h2 id="query-h">Query</h2>
          <Query status={s} events={events.data ?? []} />
        </section>
        <section aria-labelledby="timeline-h">
          <h2 id="timeline-h">Timeline</h2>
          <Timeline status={s} events={events.data ?? []} />
          <ErrorNotice error={events.error} title="Could not load the export's events" />
        </section>
      </div>
      <section aria-labelledby="files-h">
        <h2 id="files-h">Files</h2>
        {s.files.length === 0 ? (
          <Empty title={isActive(s.state) ? 'The files appear when the export completes.' : 'This export has no files.'} />
        ) : (
          <>
            <TableWrap label="Files, table">
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Rows</th>
                  <th scope="col">Size</th>
                  <th scope="col">SHA-256</th>
                  <th scope="col">
                    <span class="visually-hidden">Download</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {s.files.map((f) => (
                  <tr key={f.url}>
                    <td>{f.fileName}</td>
                    <td class="num">{formatNumber(f.rows)}</td>
                    <td class="num" title={`${f.bytes} bytes`}>
                      {formatBytes(f.bytes)}
                    </td>
                    <td>
                      <code class="hash">{f.sha256}</code>
                    </td>
                    <td>
                      <a class="button button-small" href={f.url} download={f.fileName} aria-label={`Download ${f.fileName}`}>
                        Download
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
            <p class="muted">
              {s.download && (
                <>
                  Links expire <Time iso={s.download.expires} />.{' '}
                  {s.download.downloads === 0 ? 'Not downloaded yet.' : `Downloaded ${formatNumber(s.download.downloads)} ${s.download.downloads === 1 ? 'time' : 'times'}.`}{' '}
                </>
              )}
              {s.encodedBy && <>Encoded by {s.encodedBy === 'source' ? 'the database (pushdown)' : 'Ferry'}.</>}
              {s.manifestUrl && (
                <>
                  {' '}
                  <a href={s.manifestUrl} download>
                    Download the manifest
                  </a>
                </>
              )}
            </p>
          </>
        )}
      </section>
      <section aria-labelledby="deliveries-h">
        <h2 id="deliveries-h">Webhook deliveries</h2>
        {s.webhook.deliveries.length === 0 ? (
          <Empty title="No webhook delivery yet.">The export's webhook is sent when it completes or fails.</Empty>
        ) : (
          s.webhook.deliveries.map((d) => <ExportDelivery key={d.id} id={d.id} onChange={status.reload} />)
        )}
      </section>
    </>
  );
}

function Query({ status, events }: { status: ExportStatus; events: FerryEvent[] }) {
  const request = submittedRequest(status.queryUUID);
  const requested = events.find((e) => e.type === 'export.requested');
  const filters = (requested?.data as ExportEventData | undefined)?.object?.filters;
  return (
    <>
      <dl class="pairs">
        <dt>Dataset</dt>
        <dd>
          <a href={href(`/datasets/${status.dataset}`)}>{status.dataset}</a>
        </dd>
        <dt>Format</dt>
        <dd>{status.format}</dd>
        <dt>Webhook endpoint</dt>
        <dd>
          <code>{status.webhook.endpointId}</code>
        </dd>
      </dl>
      {request ? (
        <>
          <p class="muted">The request as submitted from this browser tab:</p>
          <pre class="code" aria-label="Export request">
            {JSON.stringify(request, null, 2)}
          </pre>
        </>
      ) : (
        <>
          <p class="muted">The filters, as recorded when the export was requested (the API does not echo an export's columns):</p>
          {Array.isArray(filters) && filters.length === 0 ? (
            <p>No filter: every row.</p>
          ) : (
            <pre class="code" aria-label="Export filters">
              {filters === undefined ? '…' : JSON.stringify(filters, null, 2)}
            </pre>
          )}
        </>
      )}
    </>
  );
}

function Timeline({ status, events }: { status: ExportStatus; events: FerryEvent[] }) {
  const at = (type: string) => events.find((e) => e.type === type);
  const failed = at('export.failed');
  const downloads = events.filter((e) => e.type === 'export.downloaded');
  const iso = (e: FerryEvent | undefined) => (e ? new Date(e.created * 1000).toISOString() : null);
  return (
    <ol class="timeline">
      <li class="done">
        <span class="timeline-what">Requested</span> <Time iso={status.requestedOn} />
      </li>
      <li class={status.startedOn ? 'done' : 'todo'}>
        <span class="timeline-what">Started</span> {status.startedOn ? <Time iso={status.startedOn} /> : <span class="muted">{status.state === 'queued' ? 'waiting for a worker' : '—'}</span>}
      </li>
      {status.state === 'failed' ? (
        <li class="bad">
          <span class="timeline-what">Failed</span> <Time iso={iso(failed)} />
          <div class="cell-note">{status.error ?? (failed?.data as ExportEventData | undefined)?.object?.failed_reason}</div>
        </li>
      ) : (
        <li class={status.completedOn ? 'done' : 'todo'}>
          <span class="timeline-what">Completed</span> {status.completedOn ? <Time iso={status.completedOn} /> : <span class="muted">—</span>}
        </li>
      )}
      {status.state === 'expired' && (
        <li class="todo">
          <span class="timeline-what">Expired</span> <span class="muted">its files were deleted after the retention period</span>
        </li>
      )}
      {downloads.map((d, i) => (
        <li key={d.id} class="done">
          <span class="timeline-what">Downloaded{downloads.length > 1 ? ` (${i + 1})` : ''}</span> <Time iso={iso(d)} />
        </li>
      ))}
    </ol>
  );
}

function ExportDelivery({ id, onChange }: { id: string; onChange: () => Promise<void> }) {
  const { client } = useApp();
  const delivery = useResource(async () => unwrap(await client.GET('/webhooks/deliveries/{id}', { params: { path: { id } } })), [client, id], {
    every: (d) => (d?.state === 'pending' ? 2000 : false),
  });
  const redeliver = useAction(async () => {
    unwrap(await client.POST('/webhooks/deliveries/{id}/redeliver', { params: { path: { id } } }));
    await delivery.reload();
    await onChange();
  });
  const d = delivery.data;
  if (!d) return delivery.error ? <ErrorNotice error={delivery.error} /> : <Loading what="Loading the delivery" />;
  return (
    <article class="card" aria-label={`Delivery ${d.event}`}>
      <div class="card-head">
        <h3>
          <a href={href(`/deliveries/${d.id}`)}>{d.event}</a> <StateBadge state={d.state} />
        </h3>
        <button type="button" class="button button-small" onClick={() => redeliver.run()} disabled={redeliver.busy}>
          Redeliver
        </button>
      </div>
      <p class="muted">
        To <code>{d.url}</code> · webhook-id <code>{d.webhookId}</code>
      </p>
      <ErrorNotice error={redeliver.error} title="Could not redeliver" />
      <AttemptLog delivery={d} />
    </article>
  );
}
