import { useEffect, useMemo, useState } from 'preact/hooks';
import { unwrap, type Dataset } from '@ferry/client';
import { apiBase, describeError, type ShownError } from '../api';
import { useApp } from '../context';
import { useResource } from '../hooks';
import { navigate, type Route } from '../router';
import { rememberRequest } from '../session';
import { CopyButton, ErrorNotice, Field, Loading, PageHeader, SecretOnce } from '../components';
import {
  arityOf,
  buildRequest,
  COMPRESSIONS,
  curlCommand,
  emptyFilter,
  emptyScope,
  emptyState,
  fieldOfPath,
  OPERATORS,
  WEBHOOK_SCHEMES,
  type BuilderState,
  type FieldRef,
  type FilterDraft,
  type Operator,
  type ScopeDraft,
} from '../query-builder';

/**
 * The query builder. Everything it offers comes from the dataset's catalog entry: its columns, the
 * aggregates and granularities each allows, the formats this install writes. It shows the request
 * as JSON and as a curl command while it is built; `?mode=schedule` saves it with a cron instead.
 */
export function NewExport({ route }: { route: Route }) {
  const { client } = useApp();
  const catalog = useResource(async () => unwrap(await client.GET('/datasets')), [client]);
  const [datasetKey, setDatasetKey] = useState('');
  useEffect(() => {
    if (!datasetKey && catalog.data) setDatasetKey(route.query.get('dataset') ?? catalog.data.default ?? catalog.data.datasets[0]?.key ?? '');
  }, [catalog.data]);
  const dataset = useResource(async () => (datasetKey ? unwrap(await client.GET('/datasets/{key}', { params: { path: { key: datasetKey } } })) : undefined), [client, datasetKey]);

  return (
    <>
      <PageHeader title={route.query.get('mode') === 'schedule' ? 'New schedule' : 'New export'} />
      <ErrorNotice error={catalog.error} title="Could not load the dataset catalog" />
      {!catalog.data && !catalog.error && <Loading what="Loading the catalog" />}
      {catalog.data && catalog.data.datasets.length === 0 && <p>This install has no dataset to export from.</p>}
      {catalog.data && catalog.data.datasets.length > 0 && (
        <div class="field">
          <label for="dataset">Dataset</label>
          <select id="dataset" value={datasetKey} onChange={(e) => setDatasetKey(e.currentTarget.value)}>
            {catalog.data.datasets.map((d) => (
              <option key={d.key} value={d.key}>
                {d.key}
              </option>
            ))}
          </select>
          {dataset.data?.description && <p class="hint">{dataset.data.description}</p>}
        </div>
      )}
      <ErrorNotice error={dataset.error} title="Could not load the dataset" />
      {!!catalog.data?.datasets.length && !dataset.data && !dataset.error && <Loading what="Loading the dataset" />}
      {dataset.data && <Builder key={dataset.data.key} dataset={dataset.data} schedule={route.query.get('mode') === 'schedule'} />}
    </>
  );
}

function Builder({ dataset, schedule: startAsSchedule }: { dataset: Dataset; schedule: boolean }) {
  const { client } = useApp();
  const [state, setState] = useState<BuilderState>(() => emptyState(dataset));
  const [schedule, setSchedule] = useState(startAsSchedule);
  const [error, setError] = useState<ShownError | undefined>();
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<{ id: string; secret: string } | null>(null);
  const set = (change: Partial<BuilderState>) => setState((s) => ({ ...s, ...change }));
  const request = useMemo(() => buildRequest(state, dataset, { schedule }), [state, dataset, schedule]);
  const path = schedule ? '/exports/schedules' : '/dataset/export';
  const curl = useMemo(() => curlCommand(apiBase(), path, request), [path, request]);
  const bad: FieldRef | undefined = fieldOfPath(error?.path, state.match);
  const isBad = (part: FieldRef['part'], index?: number) => !!bad && bad.part === part && (index === undefined || ('index' in bad && bad.index === index));
  const invalid = (part: FieldRef['part'], index?: number) => (isBad(part, index) ? { 'aria-invalid': true as const, 'aria-describedby': 'submit-error' } : {});

  const columns = dataset.columns;
  const column = (name: string) => columns.find((c) => c.name === name);
  const outputs = state.scopes.map((s) => s.alias || (s.granularity ? `${s.column}_${s.granularity}` : s.aggregate ? `${s.aggregate === 'CountDistinct' ? 'count_distinct' : s.aggregate.toLowerCase()}_${s.column}` : s.column));

  const updateScope = (i: number, change: Partial<ScopeDraft>) => set({ scopes: state.scopes.map((s, j) => (j === i ? { ...s, ...change } : s)) });
  const updateFilter = (i: number, change: Partial<FilterDraft>) => set({ filters: state.filters.map((f, j) => (j === i ? { ...f, ...change } : f)) });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (schedule) {
        unwrap(await client.POST('/exports/schedules', { body: request as Required<Pick<typeof request, 'cron'>> & typeof request }));
        navigate('/schedules');
        return;
      }
      const submitted = unwrap(await client.POST('/dataset/export', { body: request }));
      rememberRequest(submitted.queryUUID, request);
      if (submitted.webhookSecret) setSecret({ id: submitted.queryUUID, secret: submitted.webhookSecret });
      else navigate(`/exports/${submitted.queryUUID}`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (secret) {
    return (
      <SecretOnce title="The export's webhook secret" value={secret.secret} onDismiss={() => navigate(`/exports/${secret.id}`)}>
        <p>Your receiver verifies this export's webhook with it.</p>
      </SecretOnce>
    );
  }

  return (
    <form class="builder" onSubmit={submit} aria-label={schedule ? 'Schedule builder' : 'Export builder'}>
      <div class="builder-main">
        <fieldset>
          <legend>Columns</legend>
          <p class="hint">Plain columns group the rows; an aggregate summarises each group; a time column can be bucketed by week, month, quarter or year.</p>
          {state.scopes.map((s, i) => {
            const col = column(s.column);
            return (
              <div class={`row${isBad('scope', i) ? ' row-bad' : ''}`} key={i} role="group" aria-label={`Column ${i + 1}`}>
                <Field id={`scope-${i}-column`} label="Column">
                  <select id={`scope-${i}-column`} value={s.column} onChange={(e) => updateScope(i, { column: e.currentTarget.value, aggregate: '', granularity: '' })} {...invalid('scope', i)}>
                    {columns.map((c) => (
                      <option key={c.name} value={c.name}>
                        {c.name} ({c.type})
                      </option>
                    ))}
                  </select>
                </Field>
                <Field id={`scope-${i}-aggregate`} label="Aggregate">
                  <select id={`scope-${i}-aggregate`} value={s.aggregate} disabled={!col?.aggregates.length} onChange={(e) => updateScope(i, { aggregate: e.currentTarget.value, granularity: '' })}>
                    <option value="">none</option>
                    {(col?.aggregates ?? []).map((a) => (
                      <option key={a} value={a}>
                        {a}
                      </option>
                    ))}
                  </select>
                </Field>
                {col?.granularities.length ? (
                  <Field id={`scope-${i}-granularity`} label="Time bucket">
                    <select id={`scope-${i}-granularity`} value={s.granularity} onChange={(e) => updateScope(i, { granularity: e.currentTarget.value, aggregate: '' })}>
                      <option value="">none</option>
                      {col.granularities.map((g) => (
                        <option key={g} value={g}>
                          {g}
                        </option>
                      ))}
                    </select>
                  </Field>
                ) : null}
                <Field id={`scope-${i}-alias`} label="Output name (optional)">
                  <input id={`scope-${i}-alias`} value={s.alias} placeholder={outputs[i]} onInput={(e) => updateScope(i, { alias: e.currentTarget.value })} pattern="[A-Za-z_][A-Za-z0-9_]*" maxLength={63} />
                </Field>
                <button type="button" class="button button-small row-remove" aria-label={`Remove column ${i + 1}`} disabled={state.scopes.length === 1} onClick={() => set({ scopes: state.scopes.filter((_, j) => j !== i) })}>
                  Remove
                </button>
              </div>
            );
          })}
          <button type="button" class="button button-small" onClick={() => set({ scopes: [...state.scopes, emptyScope(columns[0]!.name)] })}>
            Add column
          </button>
        </fieldset>

        <fieldset>
          <legend>Filters</legend>
          {state.filters.length > 1 && (
            <div class="field">
              <label for="match">Rows must match</label>
              <select id="match" value={state.match} onChange={(e) => set({ match: e.currentTarget.value as BuilderState['match'] })}>
                <option value="all">all of the filters</option>
                <option value="any">any of the filters</option>
              </select>
            </div>
          )}
          {state.filters.length === 0 && <p class="hint">No filter: every row is exported.</p>}
          {state.filters.map((f, i) => {
            const col = column(f.column);
            const arity = arityOf(f.operator);
            // A date picker for date columns (it yields the ISO form the API takes). The cast: preact types `type` per input kind.
            const type = (col?.type === 'date' ? 'date' : 'text') as 'text';
            return (
              <div class={`row${isBad('filter', i) ? ' row-bad' : ''}`} key={i} role="group" aria-label={`Filter ${i + 1}`}>
                <Field id={`filter-${i}-column`} label="Column">
                  <select id={`filter-${i}-column`} value={f.column} onChange={(e) => updateFilter(i, { column: e.currentTarget.value, aggregate: '' })} {...invalid('filter', i)}>
                    {columns.map((c) => (
                      <option key={c.name} value={c.name}>
                        {c.name}
                      </option>
                    ))}
                  </select>
                </Field>
                <Field id={`filter-${i}-aggregate`} label="Of">
                  <select id={`filter-${i}-aggregate`} value={f.aggregate} onChange={(e) => updateFilter(i, { aggregate: e.currentTarget.value })}>
                    <option value="">each row</option>
                    {(col?.aggregates ?? []).map((a) => (
                      <option key={a} value={a}>
                        {a} of the group
                      </option>
                    ))}
                  </select>
                </Field>
                <Field id={`filter-${i}-operator`} label="Operator">
                  <select id={`filter-${i}-operator`} value={f.operator} onChange={(e) => updateFilter(i, { operator: e.currentTarget.value as Operator, value: '', value2: '' })}>
                    {OPERATORS.map((o) => (
                      <option key={o.op} value={o.op}>
                        {o.label}
                      </option>
                    ))}
                  </select>
                </Field>
                {arity === 'flag' ? (
                  <Field id={`filter-${i}-value`} label="Value">
                    <select id={`filter-${i}-value`} value={f.value || 'true'} onChange={(e) => updateFilter(i, { value: e.currentTarget.value })}>
                      <option value="true">is null</option>
                      <option value="false">is not null</option>
                    </select>
                  </Field>
                ) : (
                  <Field id={`filter-${i}-value`} label={arity === 'range' ? 'From' : arity === 'list' ? 'Values (comma-separated)' : 'Value'}>
                    <input id={`filter-${i}-value`} type={arity === 'list' || arity === 'text' ? 'text' : type} value={f.value} onInput={(e) => updateFilter(i, { value: e.currentTarget.value })} {...invalid('filter', i)} />
                  </Field>
                )}
                {arity === 'range' && (
                  <Field id={`filter-${i}-value2`} label="To">
                    <input id={`filter-${i}-value2`} type={type} value={f.value2} onInput={(e) => updateFilter(i, { value2: e.currentTarget.value })} />
                  </Field>
                )}
                <button type="button" class="button button-small row-remove" aria-label={`Remove filter ${i + 1}`} onClick={() => set({ filters: state.filters.filter((_, j) => j !== i) })}>
                  Remove
                </button>
              </div>
            );
          })}
          <button type="button" class="button button-small" onClick={() => set({ filters: [...state.filters, emptyFilter(columns[0]!.name)] })}>
            Add filter
          </button>
        </fieldset>

        <fieldset>
          <legend>Order and limit</legend>
          {state.orderBy.map((o, i) => (
            <div class={`row${isBad('order', i) ? ' row-bad' : ''}`} key={i} role="group" aria-label={`Sort key ${i + 1}`}>
              <Field id={`order-${i}-column`} label="Sort by">
                <select id={`order-${i}-column`} value={o.column} onChange={(e) => set({ orderBy: state.orderBy.map((x, j) => (j === i ? { ...x, column: e.currentTarget.value } : x)) })} {...invalid('order', i)}>
                  {[...new Set(outputs)].map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </select>
              </Field>
              <Field id={`order-${i}-direction`} label="Direction">
                <select id={`order-${i}-direction`} value={o.direction} onChange={(e) => set({ orderBy: state.orderBy.map((x, j) => (j === i ? { ...x, direction: e.currentTarget.value as 'asc' | 'desc' } : x)) })}>
                  <option value="asc">ascending</option>
                  <option value="desc">descending</option>
                </select>
              </Field>
              <button type="button" class="button button-small row-remove" aria-label={`Remove sort key ${i + 1}`} onClick={() => set({ orderBy: state.orderBy.filter((_, j) => j !== i) })}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" class="button button-small" onClick={() => set({ orderBy: [...state.orderBy, { column: outputs[0] ?? columns[0]!.name, direction: 'asc' }] })}>
            Add sort key
          </button>
          <div class="form-grid">
            <Field id="limit" label="Row limit (optional)" hint={`At most ${dataset.limits.maxRows.toLocaleString('en-US')} rows for this dataset.`}>
              <input id="limit" inputMode="numeric" value={state.limit} onInput={(e) => set({ limit: e.currentTarget.value })} aria-describedby="limit-hint" {...invalid('limit')} />
            </Field>
          </div>
        </fieldset>

        <fieldset>
          <legend>Output and delivery</legend>
          <div class="form-grid">
            <Field id="export-name" label="Export name">
              <input id="export-name" required maxLength={256} value={state.name} onInput={(e) => set({ name: e.currentTarget.value })} {...invalid('name')} />
            </Field>
            <Field id="format" label="Format">
              <select id="format" value={state.format} onChange={(e) => set({ format: e.currentTarget.value })} {...invalid('format')}>
                {dataset.formats.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="compression" label="Compression">
              <select id="compression" value={state.compression} onChange={(e) => set({ compression: e.currentTarget.value as BuilderState['compression'] })} {...invalid('compression')}>
                <option value="">default (gzip for csv and jsonl)</option>
                {COMPRESSIONS.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="max-file-rows" label="Rows per file (optional)" hint="Splits a large export into several files.">
              <input id="max-file-rows" inputMode="numeric" value={state.maxFileRows} onInput={(e) => set({ maxFileRows: e.currentTarget.value })} aria-describedby="max-file-rows-hint" {...invalid('maxFileRows')} />
            </Field>
            <Field id="webhook-url" label="Webhook URL" hint="Ferry sends the completion (or failure) notice here." wide>
              <input id="webhook-url" type="url" required value={state.webhookURL} onInput={(e) => set({ webhookURL: e.currentTarget.value })} aria-describedby="webhook-url-hint" {...invalid('webhookURL')} />
            </Field>
            <Field id="webhook-scheme" label="Webhook signing">
              <select id="webhook-scheme" value={state.webhookScheme} onChange={(e) => set({ webhookScheme: e.currentTarget.value as BuilderState['webhookScheme'] })} {...invalid('webhookScheme')}>
                <option value="">default (HMAC with your API key)</option>
                {WEBHOOK_SCHEMES.filter((s) => s !== 'ferry-hmac').map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </Field>
            <div class="field">
              <label class="check">
                <input type="checkbox" checked={state.notifyOnFailure} onChange={(e) => set({ notifyOnFailure: e.currentTarget.checked })} /> <span>Also notify the webhook when the export fails</span>
              </label>
            </div>
          </div>
        </fieldset>

        <fieldset>
          <legend>When</legend>
          <label class="check">
            <input type="radio" name="when" checked={!schedule} onChange={() => setSchedule(false)} /> <span>Run once, now</span>
          </label>
          <label class="check">
            <input type="radio" name="when" checked={schedule} onChange={() => setSchedule(true)} /> <span>Run on a schedule</span>
          </label>
          {schedule && (
            <Field id="cron" label="Cron expression (UTC)" hint="Five fields: minute hour day-of-month month day-of-week, e.g. 0 6 * * 1 for Mondays at 06:00.">
              <input id="cron" required value={state.cron} onInput={(e) => set({ cron: e.currentTarget.value })} aria-describedby="cron-hint" {...invalid('cron')} />
            </Field>
          )}
        </fieldset>
        <div id="submit-error">
          <ErrorNotice error={error} title={schedule ? 'The schedule was not saved' : 'The export was not submitted'} />
        </div>
        <div class="submit-row">
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Sending…' : schedule ? 'Save schedule' : 'Submit export'}
          </button>
        </div>
      </div>

      <aside class="builder-preview" aria-label="Request preview">
        <div class="preview-head">
          <h2>Request</h2>
          <CopyButton text={JSON.stringify(request, null, 2)} label="Copy JSON" />
        </div>
        <pre class="code" data-testid="request-json">
          {JSON.stringify(request, null, 2)}
        </pre>
        <div class="preview-head">
          <h2>curl</h2>
          <CopyButton text={curl} label="Copy curl" />
        </div>
        <p class="hint">Reads your key from $FERRY_API_KEY, so the command is safe to share.</p>
        <pre class="code" data-testid="curl">
          {curl}
        </pre>
      </aside>
    </form>
  );
}

