import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import type { ExportRequest } from '@ferry/client';

type DatasetQuery = ExportRequest['dataset'];
type Scope = DatasetQuery['scopes'][number];
type Filter = NonNullable<DatasetQuery['filters']>[number];
type Order = NonNullable<NonNullable<DatasetQuery['orderBy']>>[number];
type Aggregate = NonNullable<Scope['aggregate']>;
type Granularity = NonNullable<Scope['granularity']>;
type Value = string | number | boolean;

const AGGREGATES: readonly Aggregate[] = ['Avg', 'Sum', 'Min', 'Max', 'Count', 'CountDistinct', 'Median'];
const GRANULARITIES: readonly Granularity[] = ['week', 'month', 'quarter', 'year'];

/** `avg`, `AVG` and `Avg` all name `Avg`; `count-distinct` and `count_distinct` name `CountDistinct`. */
function aggregate(text: string): Aggregate {
  const found = AGGREGATES.find((a) => a.toLowerCase() === text.toLowerCase().replace(/[-_]/g, ''));
  if (!found) throw new InvalidArgumentError(`unknown aggregate "${text}" (one of ${AGGREGATES.join(', ')})`);
  return found;
}

/** `--scope column`, `column:aggregate`, `column@granularity`, each optionally `=alias`. Repeatable: the outputs, in order. */
export function parseScope(value: string, previous: Scope[] = []): Scope[] {
  const match = /^([^:@=\s]+)(?::([A-Za-z_-]+))?(?:@([a-z]+))?(?:=([A-Za-z_][A-Za-z0-9_]*))?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`"${value}" is not column[:aggregate][@granularity][=alias], e.g. asking_rent:avg or as_of_week@month`);
  const [, column, agg, granularity, alias] = match;
  if (granularity && !GRANULARITIES.includes(granularity as Granularity)) {
    throw new InvalidArgumentError(`unknown granularity "${granularity}" (one of ${GRANULARITIES.join(', ')})`);
  }
  const scope: Scope = { column: column! };
  if (agg) scope.aggregate = aggregate(agg);
  if (granularity) scope.granularity = granularity as Granularity;
  if (alias) scope.alias = alias;
  return [...previous, scope];
}

/** `--order-by column[:asc|:desc]`, repeatable. */
export function parseOrder(value: string, previous: Order[] = []): Order[] {
  const match = /^([^:\s]+)(?::(asc|desc))?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`"${value}" is not column[:asc|:desc]`);
  return [...previous, { column: match[1]!, direction: (match[2]?.toLowerCase() ?? 'asc') as 'asc' | 'desc' }];
}

const SYMBOLS: Record<string, string> = { '=': 'equals', '==': 'equals', '!=': 'notEquals', '<>': 'notEquals', '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' };
const WORDS: Record<string, string> = {
  in: 'in',
  'not-in': 'notIn',
  between: 'between',
  contains: 'contains',
  'not-contains': 'notContains',
  'starts-with': 'startsWith',
  'ends-with': 'endsWith',
  'is-null': 'isNull',
  'is-not-null': 'isNull',
};
const API_OPS = ['equals', 'notEquals', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'between', 'contains', 'notContains', 'startsWith', 'endsWith', 'isNull'];

/**
 * `--filter 'column op value'`, repeatable (all must hold). `op` is `= != > >= < <=`, or a word:
 * `in`, `not-in`, `between` (a JSON array: `bed in [1,2,3]`, `as_of_week between ["2024-01-01","2024-06-30"]`),
 * `contains`, `not-contains`, `starts-with`, `ends-with`, `is-null`, `is-not-null` (no value), or
 * the API's own name (`notEquals`...). A value is read as JSON when it is JSON (`2000`, `true`,
 * `"02134"`) and as text otherwise (`Seattle, WA`). `column:aggregate op value` filters after grouping.
 */
export function parseFilter(value: string, previous: Filter[] = []): Filter[] {
  const match =
    /^\s*([^\s:<>=!]+)(?::([A-Za-z_-]+))?\s*(==|!=|<>|>=|<=|=|>|<)\s*(.*)$/s.exec(value) ??
    /^\s*([^\s:<>=!]+)(?::([A-Za-z_-]+))?\s+([A-Za-z-]+)(?:\s+(.*))?$/s.exec(value);
  if (!match) throw new InvalidArgumentError(`"${value}" is not "column op value", e.g. "asking_rent >= 2000" or "msa = Seattle, WA"`);
  const [, column, agg, rawOp, rawValue = ''] = match;
  const op = SYMBOLS[rawOp!] ?? WORDS[rawOp!.toLowerCase()] ?? API_OPS.find((o) => o.toLowerCase() === rawOp!.toLowerCase());
  if (!op) throw new InvalidArgumentError(`unknown filter operator "${rawOp}" in "${value}"`);
  let operand: Value | Value[];
  if (op === 'isNull') {
    if (rawValue.trim() !== '') throw new InvalidArgumentError(`${rawOp} takes no value: "${column} ${rawOp}"`);
    operand = rawOp!.toLowerCase() !== 'is-not-null';
  } else {
    if (rawValue.trim() === '') throw new InvalidArgumentError(`"${value}" has no value after ${rawOp}`);
    operand = jsonOrText(rawValue.trim());
    const wantsList = op === 'in' || op === 'notIn' || op === 'between';
    if (wantsList !== Array.isArray(operand)) {
      throw new InvalidArgumentError(wantsList ? `${rawOp} takes a JSON array, e.g. "${column} ${rawOp} [1, 2]"` : `${rawOp} takes one value, not a list`);
    }
  }
  const filter = { column: column!, ...(agg ? { aggregate: aggregate(agg) } : {}), filter: { [op]: operand } } as Filter;
  return [...previous, filter];
}

function jsonOrText(text: string): Value | Value[] {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'string' || typeof parsed === 'number' || typeof parsed === 'boolean') return parsed;
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return parsed as Value[];
  } catch {
    // not JSON: the text itself
  }
  return text;
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('a whole number of 1 or more.');
  return Number(value);
}

/**
 * `--query FILE` (or `-` for stdin): a JSON dataset query (`{"from", "scopes", ...}`) or a whole
 * `POST /dataset/export` body (`{"dataset": {...}, "format", ...}`), whose fields the flags override.
 */
export async function readQueryFile(file: string): Promise<{ dataset: DatasetQuery; rest: Partial<ExportRequest> }> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot read --query ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`--query ${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`--query ${file} must hold a JSON object`);
  const object = parsed as Record<string, unknown>;
  if ('dataset' in object) {
    const { dataset, ...rest } = object;
    return { dataset: dataset as DatasetQuery, rest: rest as Partial<ExportRequest> };
  }
  return { dataset: object as unknown as DatasetQuery, rest: {} };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
