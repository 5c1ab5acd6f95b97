import { useState } from 'preact/hooks';
import { unwrap, type Delivery, type Endpoint } from '@ferry/client';
import { useApp } from '../context';
import { useAction, useResource } from '../hooks';
import { deliveriesSince, DAY_MS } from '../lists';
import { href } from '../router';
import { EVENT_HELP, EVENT_TYPES } from '../events';
import { Empty, ErrorNotice, Field, Loading, PageHeader, SecretOnce, StateBadge, Time } from '../components';

const HEALTH_WINDOW_DAYS = 7;

type Shown = { title: string; secret: string; note?: string };

/**
 * Endpoints receive the account's events. Creating one or rotating its secret shows the secret
 * once; each endpoint shows how its deliveries fared over the last week.
 */
export function Endpoints() {
  const { client } = useApp();
  const list = useResource(async () => unwrap(await client.GET('/webhooks/endpoints')).data, [client]);
  const [secret, setSecret] = useState<Shown | null>(null);
  return (
    <>
      <PageHeader title="Endpoints" />
      <p class="muted">An endpoint is a URL of yours that Ferry sends events to, signed so you can check they came from Ferry.</p>
      {secret && (
        <SecretOnce title={secret.title} value={secret.secret} onDismiss={() => setSecret(null)}>
          {secret.note && <p>{secret.note}</p>}
        </SecretOnce>
      )}
      <CreateEndpoint
        onCreated={async (created) => {
          setSecret({ title: `Signing secret for ${created.url}`, secret: created.secret });
          await list.reload();
        }}
      />
      <h2>Your endpoints</h2>
      <ErrorNotice error={list.error} title="Could not load endpoints" />
      {!list.data && !list.error && <Loading />}
      {list.data?.length === 0 && <Empty title="No endpoint yet.">Register one above to receive events as they happen.</Empty>}
      <div class="cards">
        {list.data?.map((ep) => (
          <EndpointCard key={ep.id} endpoint={ep} onChanged={list.reload} onSecret={setSecret} />
        ))}
      </div>
    </>
  );
}

/**
 * Which events an endpoint receives: every event (`*`, types added later included), or some. Leaving
 * "every event" keeps the types picked before (export.completed and export.failed at first).
 */
function EventPicker({ value, onChange, idPrefix = 'events' }: { value: string[]; onChange: (events: string[]) => void; idPrefix?: string }) {
  const all = value.includes('*');
  const [picked, setPicked] = useState<string[]>(all ? ['export.completed', 'export.failed'] : value);
  return (
    <fieldset class="field-wide">
      <legend>Events</legend>
      <label class="check">
        <input type="checkbox" id={`${idPrefix}-all`} checked={all} onChange={(e) => onChange(e.currentTarget.checked ? ['*'] : picked)} /> <span>Every event, including types added later</span>
      </label>
      {!all &&
        EVENT_TYPES.map((type) => (
          <label class="check" key={type}>
            <input
              type="checkbox"
              checked={value.includes(type)}
              onChange={(e) => {
                const next = e.currentTarget.checked ? [...value, type] : value.filter((t) => t !== type);
                setPicked(next);
                onChange(next);
              }}
            />{' '}
            <span>
              <code>{type}</code> <span class="muted">{EVENT_HELP[type]}</span>
            </span>
          </label>
        ))}
    </fieldset>
  );
}

function CreateEndpoint({ onCreated }: { onCreated: (created: Endpoint & { secret: string }) => Promise<void> }) {
  const { client } = useApp();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>(['*']);
  const [scheme, setScheme] = useState<'standard-webhooks' | 'secret-header'>('standard-webhooks');
  const [retries, setRetries] = useState('');
  const create = useAction(async () => {
    const retryScheduleSeconds = retries.trim()
      ? retries
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map(Number)
      : undefined;
    const created = unwrap(
      await client.POST('/webhooks/endpoints', {
        body: { url: url.trim(), events, scheme, ...(description.trim() ? { description: description.trim() } : {}), ...(retryScheduleSeconds ? { retryScheduleSeconds } : {}) },
      }),
    );
    setUrl('');
    setDescription('');
    await onCreated(created);
  });
  return (
    <details class="card" open>
      <summary>Add an endpoint</summary>
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <Field id="endpoint-url" label="Endpoint URL" hint="https, reachable from Ferry.">
          <input id="endpoint-url" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} aria-describedby="endpoint-url-hint" placeholder="https://hooks.example.com/ferry" />
        </Field>
        <Field id="endpoint-description" label="Description (optional)">
          <input id="endpoint-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} maxLength={500} />
        </Field>
        <Field id="endpoint-scheme" label="Signing scheme">
          <select id="endpoint-scheme" value={scheme} onChange={(e) => setScheme(e.currentTarget.value as typeof scheme)}>
            <option value="standard-webhooks">Standard Webhooks (signs body and time)</option>
            <option value="secret-header">Secret header (x-webhook-secret)</option>
          </select>
        </Field>
        <Field id="endpoint-retries" label="Retry schedule in seconds (optional)" hint="Delays before each attempt, e.g. 0, 5, 300. Empty: Ferry's default (up to about 3 days).">
          <input id="endpoint-retries" value={retries} onInput={(e) => setRetries(e.currentTarget.value)} aria-describedby="endpoint-retries-hint" inputMode="numeric" />
        </Field>
        <EventPicker value={events} onChange={setEvents} />
        <ErrorNotice error={create.error} title="Could not create the endpoint" />
        <div class="field-wide">
          <button type="submit" class="button button-primary" disabled={create.busy}>
            Create endpoint
          </button>
        </div>
      </form>
    </details>
  );
}

type Attempt = { at: string; status: number | null; error: string | null };
type Failure = { deliveryId: string; at: string; status: number | null; error: string | null };

/** Deliveries whose attempt logs are read for the last failure: the newest ones that may hold one. */
const FAILURE_LOOKUPS = 20;

/**
 * Success rate (finished deliveries that succeeded) and the last failed attempt over the window.
 * A delivery that failed and then succeeded on a retry or a redelivery still had that failure, so
 * the attempt logs are read, not just the final states.
 */
async function health(client: ReturnType<typeof useApp>['client'], endpointId: string) {
  const { items } = await deliveriesSince(client, new Date(Date.now() - HEALTH_WINDOW_DAYS * DAY_MS), { endpoint: endpointId }, 5);
  const done = items.filter((d) => d.state !== 'pending');
  const ok = done.filter((d) => d.state === 'succeeded').length;
  const suspects = items.filter((d) => d.attempts > 1 || d.state === 'failed' || d.lastError || (d.lastStatus !== null && d.lastStatus >= 300)).slice(-FAILURE_LOOKUPS);
  const logs = await Promise.all(suspects.map(async (d) => ({ id: d.id, log: unwrap(await client.GET('/webhooks/deliveries/{id}', { params: { path: { id: d.id } } })).attemptLog as Attempt[] })));
  let lastFailure: Failure | undefined;
  for (const { id, log } of logs) {
    for (const a of log) {
      const failed = a.status === null || a.status >= 300 || a.error;
      if (failed && (!lastFailure || a.at > lastFailure.at)) lastFailure = { deliveryId: id, at: a.at, status: a.status, error: a.error };
    }
  }
  return { done: done.length, rate: done.length ? ok / done.length : null, lastFailure, latest: items[items.length - 1] as Delivery | undefined };
}

function EndpointCard({ endpoint: ep, onChanged, onSecret }: { endpoint: Endpoint; onChanged: () => Promise<void>; onSecret: (s: Shown) => void }) {
  const { client } = useApp();
  const stats = useResource(() => health(client, ep.id), [client, ep.id, ep.updatedAt]);
  const [sent, setSent] = useState<string | null>(null);
  const [editing, setEditing] = useState<string[] | null>(null);
  const act = useAction(async (what: 'toggle' | 'rotate' | 'delete' | 'resend' | 'events') => {
    setSent(null);
    if (what === 'events' && editing) {
      unwrap(await client.PATCH('/webhooks/endpoints/{id}', { params: { path: { id: ep.id } }, body: { events: editing } }));
      setEditing(null);
    }
    if (what === 'toggle') unwrap(await client.PATCH('/webhooks/endpoints/{id}', { params: { path: { id: ep.id } }, body: { enabled: !ep.enabled } }));
    if (what === 'rotate') {
      if (!confirm(`Rotate the signing secret of ${ep.url}? The current one keeps working for 24 hours.`)) return;
      const rotated = unwrap(await client.POST('/webhooks/endpoints/{id}/rotate-secret', { params: { path: { id: ep.id } } }));
      onSecret({ title: `New signing secret for ${ep.url}`, secret: rotated.secret, note: `The previous secret keeps signing too until ${new Date(rotated.previousSecretExpiresAt).toLocaleString('en-GB')}.` });
    }
    if (what === 'delete') {
      if (!confirm(`Delete the endpoint ${ep.url}? Its pending deliveries fail.`)) return;
      unwrap(await client.DELETE('/webhooks/endpoints/{id}', { params: { path: { id: ep.id } } }));
    }
    if (what === 'resend') {
      const latest = stats.data?.latest;
      if (!latest) return;
      unwrap(await client.POST('/webhooks/deliveries/{id}/redeliver', { params: { path: { id: latest.id } } }));
      setSent(`Sent ${latest.event} (webhook-id ${latest.webhookId}) again.`);
    }
    await onChanged();
    await stats.reload();
  });
  const h = stats.data;
  const name = ep.description || ep.url;
  return (
    <article class="card" aria-label={`Endpoint ${name}`}>
      <div class="card-head">
        <h3 class="break">{name}</h3>
        <StateBadge state={ep.enabled ? 'enabled' : 'disabled'} />
      </div>
      <dl class="pairs">
        {ep.description && (
          <>
            <dt>URL</dt>
            <dd>
              <code>{ep.url}</code>
            </dd>
          </>
        )}
        <dt>Events</dt>
        <dd>{(ep.events ?? ['*']).map((e) => (e === '*' ? 'every event' : e)).join(', ')}</dd>
        <dt>Scheme</dt>
        <dd>{ep.scheme}</dd>
        {!ep.enabled && ep.disabledReason && (
          <>
            <dt>Disabled because</dt>
            <dd>{ep.disabledReason}</dd>
          </>
        )}
        {ep.failingSince && (
          <>
            <dt>Failing since</dt>
            <dd>
              <Time iso={ep.failingSince} />
            </dd>
          </>
        )}
        <dt>Success rate ({HEALTH_WINDOW_DAYS} days)</dt>
        <dd data-testid="success-rate">{!h ? '…' : h.rate === null ? 'no finished delivery yet' : `${Math.round(h.rate * 100)}% of ${h.done}`}</dd>
        <dt>Last failure</dt>
        <dd>
          {!h ? (
            '…'
          ) : h.lastFailure ? (
            <>
              <a href={href(`/deliveries/${h.lastFailure.deliveryId}`)}>
                <Time iso={h.lastFailure.at} />
              </a>{' '}
              {h.lastFailure.status !== null ? <>answered {h.lastFailure.status}</> : 'no answer'} {h.lastFailure.error}
            </>
          ) : (
            'none'
          )}
        </dd>
      </dl>
      <ErrorNotice error={stats.error} title="Could not load the endpoint's deliveries" />
      <ErrorNotice error={act.error} title="That did not work" />
      {sent && <p role="status">{sent}</p>}
      {editing && (
        <form
          class="form-grid"
          aria-label={`Events of ${name}`}
          onSubmit={(e) => {
            e.preventDefault();
            void act.run('events');
          }}
        >
          <EventPicker value={editing} onChange={setEditing} idPrefix={`events-${ep.id}`} />
          <div class="row-actions field-wide">
            <button type="submit" class="button button-small button-primary" disabled={act.busy}>
              Save events
            </button>
            <button type="button" class="button button-small" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <div class="row-actions">
        {!editing && (
          <button type="button" class="button button-small" onClick={() => setEditing(ep.events ?? ['*'])}>
            Change events
          </button>
        )}
        <button type="button" class="button button-small" onClick={() => act.run('toggle')} disabled={act.busy}>
          {ep.enabled ? 'Disable' : 'Enable'}
        </button>
        <button type="button" class="button button-small" onClick={() => act.run('rotate')} disabled={act.busy}>
          Rotate secret
        </button>
        <button
          type="button"
          class="button button-small"
          onClick={() => act.run('resend')}
          disabled={act.busy || !h?.latest}
          title="Ferry has no synthetic test event: this sends the endpoint's latest delivery again, with the same webhook-id."
        >
          Resend latest event
        </button>
        <a class="button button-small" href={href('/deliveries', { endpoint: ep.id })}>
          Deliveries
        </a>
        <button type="button" class="button button-small button-danger" onClick={() => act.run('delete')} disabled={act.busy}>
          Delete
        </button>
      </div>
      {h && !h.latest && <p class="hint">“Resend latest event” becomes available after the first delivery to this endpoint.</p>}
    </article>
  );
}
