import type { Dataset, ExportRequest } from '@ferry/client';

/**
 * The New export form's state and the request it stands for. Pure: no DOM, so the rules (how a
 * typed value becomes JSON, how a server error's field path maps back to a row of the form, what
 * the curl command says) are unit-tested in Node.
 */

export const AGGREGATES = ['Avg', 'Sum', 'Min', 'Max', 'Count', 'CountDistinct', 'Median'] as const;
export const GRANULARITIES = ['week', 'month', 'quarter', 'year'] as const;
export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export const WEBHOOK_SCHEMES = ['ferry-hmac', 'secret-header', 'standard-webhooks'] as const;

/** How many operands an operator takes, which decides the inputs the form shows for it. */
export type Arity = 'value' | 'list' | 'range' | 'text' | 'flag';

/** Every filter operator the API accepts (packages/core/src/query.ts), in the order the form lists them. */
export const OPERATORS = [
  { op: 'equals', label: 'equals', arity: 'value' },
  { op: 'notEquals', label: 'does not equal', arity: 'value' },
  { op: 'in', label: 'is one of', arity: 'list' },
  { op: 'notIn', label: 'is none of', arity: 'list' },
  { op: 'gt', label: 'greater than', arity: 'value' },
  { op: 'gte', label: 'at least', arity: 'value' },
  { op: 'lt', label: 'less than', arity: 'value' },
  { op: 'lte', label: 'at most', arity: 'value' },
  { op: 'between', label: 'between', arity: 'range' },
  { op: 'contains', label: 'contains', arity: 'text' },
  { op: 'notContains', label: 'does not contain', arity: 'text' },
  { op: 'startsWith', label: 'starts with', arity: 'text' },
  { op: 'endsWith', label: 'ends with', arity: 'text' },
  { op: 'isNull', label: 'is empty (null)', arity: 'flag' },
] as const satisfies ReadonlyArray<{ op: string; label: string; arity: Arity }>;
export type Operator = (typeof OPERATORS)[number]['op'];

export interface ScopeDraft {
  column: string;
  /** '' for none. */
  aggregate: string;
  /** '' for none (time columns only). */
  granularity: string;
  alias: string;
}

export interface FilterDraft {
  column: string;
  /** '' filters rows; an aggregate filters groups (applied after grouping). */
  aggregate: string;
  operator: Operator;
  /** The operand as typed; a comma-separated list for `in`/`notIn`; `true`/`false` for isNull. */
  value: string;
  /** The upper bound of `between`. */
  value2: string;
}

export interface OrderDraft {
  column: string;
  direction: 'asc' | 'desc';
}

export interface BuilderState {
  dataset: string;
  name: string;
  scopes: ScopeDraft[];
  filters: FilterDraft[];
  /** All filters must hold (the API's implicit and), or any one of them (one `or` group). */
  match: 'all' | 'any';
  orderBy: OrderDraft[];
  limit: string;
  format: string;
  /** '' leaves the server's default: gzip for text formats (csv, jsonl), none for the others. */
  compression: '' | (typeof COMPRESSIONS)[number];
  webhookURL: string;
  /** '' leaves the server's default (the seed HMAC scheme). */
  webhookScheme: '' | (typeof WEBHOOK_SCHEMES)[number];
  notifyOnFailure: boolean;
  maxFileRows: string;
  /** Only for saving a schedule. */
  cron: string;
}

export function emptyState(dataset: Dataset | undefined): BuilderState {
  return {
    dataset: dataset?.key ?? '',
    name: '',
    scopes: dataset?.columns[0] ? [emptyScope(dataset.columns[0].name)] : [],
    filters: [],
    match: 'all',
    orderBy: [],
    limit: '',
    format: dataset?.formats.includes('csv') ? 'csv' : (dataset?.formats[0] ?? 'csv'),
    compression: '',
    webhookURL: '',
    webhookScheme: '',
    notifyOnFailure: false,
    maxFileRows: '',
    cron: '',
  };
}

export const emptyScope = (column: string): ScopeDraft => ({ column, aggregate: '', granularity: '', alias: '' });
export const emptyFilter = (column: string): FilterDraft => ({ column, aggregate: '', operator: 'equals', value: '', value2: '' });

export function arityOf(operator: Operator): Arity {
  return OPERATORS.find((o) => o.op === operator)!.arity;
}

type Scalar = string | number | boolean;
const NUMERIC = new Set(['integer', 'bigint', 'double', 'decimal']);

/**
 * A typed operand as JSON: numbers for numeric columns (and for Count/CountDistinct results),
 * true/false for booleans, text otherwise. Text that does not read as the column's type is sent
 * as typed, so the server names the mistake (TYPE_MISMATCH at the operand's path) rather than the
 * form guessing.
 */
export function parseOperand(raw: string, columnType: string | undefined, aggregate = ''): Scalar {
  const text = raw.trim();
  const numeric = aggregate === 'Count' || aggregate === 'CountDistinct' || (columnType !== undefined && NUMERIC.has(columnType));
  if (numeric && text !== '' && Number.isFinite(Number(text))) return Number(text);
  if (columnType === 'boolean' && !aggregate && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

function filterOp(draft: FilterDraft, columnType: string | undefined): Record<string, unknown> {
  const operand = (raw: string) => parseOperand(raw, columnType, draft.aggregate);
  switch (arityOf(draft.operator)) {
    case 'flag':
      return { [draft.operator]: draft.value !== 'false' };
    case 'text':
      return { [draft.operator]: draft.value };
    case 'list':
      return {
        [draft.operator]: draft.value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '')
          .map(operand),
      };
    case 'range':
      return { [draft.operator]: [operand(draft.value), operand(draft.value2)] };
    default:
      return { [draft.operator]: operand(draft.value) };
  }
}

function positiveInt(raw: string): number | string | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** The body of `POST /dataset/export` (with `cron`, of `POST /exports/schedules`) that the form describes. */
export function buildRequest(state: BuilderState, dataset: Dataset | undefined, options: { schedule?: boolean } = {}): ExportRequest & { cron?: string } {
  const typeOf = (column: string) => dataset?.columns.find((c) => c.name === column)?.type;
  const scopes = state.scopes.map((s) => ({
    column: s.column,
    ...(s.aggregate ? { aggregate: s.aggregate as (typeof AGGREGATES)[number] } : {}),
    ...(s.granularity ? { granularity: s.granularity as (typeof GRANULARITIES)[number] } : {}),
    ...(s.alias.trim() ? { alias: s.alias.trim() } : {}),
  }));
  const leaves = state.filters.map((f) => ({
    column: f.column,
    ...(f.aggregate ? { aggregate: f.aggregate as (typeof AGGREGATES)[number] } : {}),
    filter: filterOp(f, typeOf(f.column)),
  }));
  const filters = leaves.length === 0 ? undefined : state.match === 'any' && leaves.length > 1 ? [{ or: leaves }] : leaves;
  const limit = positiveInt(state.limit);
  const maxFileRows = positiveInt(state.maxFileRows);
  // Values the form could not read are passed through as typed: the server answers with the field's path.
  const request = {
    dataset: {
      ...(state.dataset ? { from: state.dataset } : {}),
      scopes,
      ...(filters ? { filters } : {}),
      ...(state.orderBy.length ? { orderBy: state.orderBy.map((o) => ({ column: o.column, direction: o.direction })) } : {}),
      ...(limit !== undefined ? { limit } : {}),
    },
    webhookURL: state.webhookURL.trim(),
    name: state.name.trim(),
    format: state.format,
    ...(state.compression ? { compression: state.compression } : {}),
    ...(state.webhookScheme ? { webhookScheme: state.webhookScheme } : {}),
    ...(maxFileRows !== undefined ? { maxFileRows } : {}),
    ...(state.notifyOnFailure ? { notifyOnFailure: true } : {}),
    ...(options.schedule ? { cron: state.cron.trim() } : {}),
  };
  return request as ExportRequest & { cron?: string };
}

/** Quote for a POSIX shell: single quotes, each embedded one closed, escaped and reopened. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The curl command that sends the same request. The key is read from `$FERRY_API_KEY`, so the
 * command can be copied into a ticket or a chat without leaking it.
 */
export function curlCommand(apiBase: string, path: string, body: unknown): string {
  const url = new URL(path.replace(/^\//, ''), apiBase.endsWith('/') ? apiBase : `${apiBase}/`).toString();
  return [
    `curl -sS -X POST ${shellQuote(url)}`,
    `  -H 'content-type: application/json'`,
    `  -H "x-api-key: $FERRY_API_KEY"`,
    `  --data ${shellQuote(JSON.stringify(body, null, 2))}`,
  ].join(' \\\n');
}

/** Which part of the form a server error's field path points at, so the form can mark it. */
export type FieldRef =
  | { part: 'scope' | 'filter' | 'order'; index: number }
  | { part: 'limit' | 'dataset' | 'name' | 'format' | 'webhookURL' | 'compression' | 'webhookScheme' | 'maxFileRows' | 'cron' };

/** Map an error path such as `dataset.scopes[1].aggregate` or `dataset.filters[0].or[2].filter.in` to the form. */
export function fieldOfPath(path: string | undefined, match: BuilderState['match']): FieldRef | undefined {
  if (!path) return undefined;
  const scope = /^dataset\.scopes\[(\d+)\]/.exec(path);
  if (scope) return { part: 'scope', index: Number(scope[1]) };
  const grouped = /^dataset\.filters\[0\]\.or\[(\d+)\]/.exec(path);
  if (grouped && match === 'any') return { part: 'filter', index: Number(grouped[1]) };
  const filter = /^dataset\.filters\[(\d+)\]/.exec(path);
  if (filter) return { part: 'filter', index: Number(filter[1]) };
  const order = /^dataset\.orderBy\[(\d+)\]/.exec(path);
  if (order) return { part: 'order', index: Number(order[1]) };
  if (path === 'dataset.limit') return { part: 'limit' };
  if (path === 'dataset.from' || path === 'dataset') return { part: 'dataset' };
  const top = /^(name|format|webhookURL|compression|webhookScheme|maxFileRows|cron)\b/.exec(path);
  if (top) return { part: top[1] as 'name' };
  return undefined;
}
