import { aggregateOutputType, allowedAggregates, allowedGranularities, type Catalog, type ColumnDefinition, type ColumnType, type DatasetDefinition } from './catalog.js';
import { FerryError, type FieldPath } from './errors.js';
import {
  filterOperator,
  isFilterGroup,
  scopeOutputName,
  type Aggregate,
  type ColumnFilter,
  type DatasetQuery,
  type FilterNode,
  type FilterOp,
  type FilterOperator,
  type FilterValue,
  type Granularity,
} from './query.js';
import { checkValue, compareValues } from './values.js';

export interface ResolvedOutput {
  /** Output column name: the alias or the default name (`avg_asking_rent`, `as_of_week_month`). */
  name: string;
  column: ColumnDefinition;
  aggregate?: Aggregate;
  granularity?: Granularity;
  /** Logical type of the output: the column's, the aggregate's result type, or `date` for a time bucket. */
  type: ColumnType;
}

/** One comparison, its value(s) already checked against `type` (the column's or the aggregate's). */
export interface ResolvedComparison {
  kind: 'compare';
  column: ColumnDefinition;
  /** Set on aggregate filters, which apply after grouping (HAVING). */
  aggregate?: Aggregate;
  type: ColumnType;
  operator: FilterOperator;
  operand: NonNullable<FilterOp[FilterOperator]>;
  /** Path of the filter in the query, for errors found later (e.g. by a dialect's range check). */
  path: FieldPath;
}
export type ResolvedCondition = ResolvedComparison | { kind: 'and' | 'or'; items: ResolvedCondition[] };

export interface ResolvedOrder {
  /** Index into `outputs`. */
  output: number;
  direction: 'asc' | 'desc';
}

/** A query checked against its dataset: every column known, every value typed. */
export interface ResolvedQuery {
  dataset: DatasetDefinition;
  query: DatasetQuery;
  /** Output columns, in scope order. */
  outputs: readonly ResolvedOutput[];
  limit: number;
  /** True when any scope aggregates: the other scopes are then the grouping. */
  aggregated: boolean;
  /** Row filters (WHERE), or null. */
  where: ResolvedCondition | null;
  /** Aggregate filters (HAVING), or null. */
  having: ResolvedCondition | null;
  /** The complete order: the requested keys, then every other output ascending (NULLS LAST always). */
  orderBy: readonly ResolvedOrder[];
}

type Path = ReadonlyArray<string | number>;

const ORDERED_OPERATORS: ReadonlySet<FilterOperator> = new Set(['gt', 'gte', 'lt', 'lte', 'between']);
const TEXT_OPERATORS: ReadonlySet<FilterOperator> = new Set(['contains', 'notContains', 'startsWith', 'endsWith']);

/**
 * Check a query against the catalog. Every mistake is a 400 with the path of the bad field,
 * relative to `basePath` (the API passes `['dataset']`).
 */
export function resolveQuery(catalog: Catalog, query: DatasetQuery, basePath: Path = []): ResolvedQuery {
  const key = query.from ?? catalog.defaultKey;
  const dataset = catalog.get(key);
  if (!dataset) throw new FerryError('UNKNOWN_DATASET', `unknown dataset "${key}"`, { path: [...basePath, 'from'] });
  const at = (...path: Path): FieldPath => [...basePath, ...path];
  const columns = new Map(dataset.columns.map((c) => [c.name, c]));
  const lookup = (name: string, path: Path): ColumnDefinition => {
    const column = columns.get(name);
    if (!column) throw new FerryError('UNKNOWN_COLUMN', `dataset "${key}" has no column "${name}"`, { path: at(...path) });
    if (!column.exportable) throw new FerryError('COLUMN_NOT_EXPORTABLE', `column "${name}" cannot be exported`, { path: at(...path) });
    return column;
  };
  const checkAggregate = (column: ColumnDefinition, aggregate: Aggregate, path: Path): void => {
    const allowed = allowedAggregates(column);
    if (!allowed.includes(aggregate)) {
      throw new FerryError(
        'AGGREGATE_NOT_ALLOWED',
        allowed.length
          ? `aggregate ${aggregate} is not allowed on "${column.name}" (allowed: ${allowed.join(', ')})`
          : `"${column.name}" allows no aggregate; use it as a plain column or a filter`,
        { path: at(...path) },
      );
    }
  };

  const outputs = resolveOutputs(query, lookup, checkAggregate, at);
  const aggregated = outputs.some((o) => o.aggregate);

  const leaf = (filter: ColumnFilter, path: Path): ResolvedComparison => {
    const column = lookup(filter.column, [...path, 'column']);
    if (filter.aggregate) {
      checkAggregate(column, filter.aggregate, [...path, 'aggregate']);
      if (!aggregated) {
        throw new FerryError('VALIDATION_FAILED', 'a filter on an aggregate needs a query with an aggregate scope (it applies after grouping)', {
          path: at(...path, 'aggregate'),
        });
      }
    }
    const type = aggregateOutputType(column.type, filter.aggregate);
    const { operator, operand } = filterOperator(filter.filter);
    checkOperand(type, filter.aggregate ? `${filter.aggregate} of "${column.name}"` : `column "${column.name}"`, operator, operand, at(...path, 'filter', operator));
    return { kind: 'compare', column, ...(filter.aggregate ? { aggregate: filter.aggregate } : {}), type, operator, operand, path: at(...path, 'filter', operator) };
  };

  // Top-level filters are an implicit AND, so each one goes to WHERE or HAVING on its own;
  // inside a group both kinds cannot mix (an OR cannot straddle grouping).
  const where: ResolvedCondition[] = [];
  const having: ResolvedCondition[] = [];
  (query.filters ?? []).forEach((node, i) => {
    const resolved = resolveNode(node, ['filters', i], leaf, at);
    (isAggregateCondition(resolved) ? having : where).push(resolved);
  });

  const maxRows = dataset.limits.maxRows;
  if (query.limit !== undefined && query.limit > maxRows) {
    throw new FerryError('LIMIT_EXCEEDED', `limit ${query.limit} exceeds the dataset's maximum of ${maxRows} rows`, { path: at('limit') });
  }
  return {
    dataset,
    query,
    outputs,
    limit: query.limit ?? maxRows,
    aggregated,
    where: conjunction(where),
    having: conjunction(having),
    orderBy: resolveOrder(query, outputs, at),
  };
}

function resolveOutputs(
  query: DatasetQuery,
  lookup: (name: string, path: Path) => ColumnDefinition,
  checkAggregate: (column: ColumnDefinition, aggregate: Aggregate, path: Path) => void,
  at: (...path: Path) => FieldPath,
): ResolvedOutput[] {
  // DuckDB compares identifiers case-insensitively, so "Rent" and "rent" would collide there.
  const seen = new Set<string>();
  return query.scopes.map((scope, i) => {
    const column = lookup(scope.column, ['scopes', i, 'column']);
    if (scope.aggregate) checkAggregate(column, scope.aggregate, ['scopes', i, 'aggregate']);
    if (scope.granularity && !allowedGranularities(column).includes(scope.granularity)) {
      const allowed = allowedGranularities(column);
      throw new FerryError(
        'GRANULARITY_NOT_ALLOWED',
        allowed.length
          ? `granularity ${scope.granularity} is not allowed on "${column.name}" (allowed: ${allowed.join(', ')})`
          : `"${column.name}" is not a time column; granularity applies only to time columns`,
        { path: at('scopes', i, 'granularity') },
      );
    }
    const name = scopeOutputName(scope);
    if (seen.has(name.toLowerCase())) {
      throw new FerryError('VALIDATION_FAILED', `output column "${name}" appears twice; give one scope another alias`, {
        path: at('scopes', i, ...(scope.alias ? ['alias'] : [])),
      });
    }
    seen.add(name.toLowerCase());
    const type: ColumnType = scope.granularity ? 'date' : aggregateOutputType(column.type, scope.aggregate);
    return {
      name,
      column,
      ...(scope.aggregate ? { aggregate: scope.aggregate } : {}),
      ...(scope.granularity ? { granularity: scope.granularity } : {}),
      type,
    };
  });
}

function resolveNode(
  node: FilterNode,
  path: Path,
  leaf: (filter: ColumnFilter, path: Path) => ResolvedComparison,
  at: (...path: Path) => FieldPath,
): ResolvedCondition {
  if (!isFilterGroup(node)) return leaf(node, path);
  const kind = 'and' in node ? 'and' : 'or';
  const list = 'and' in node ? node.and : node.or;
  const items = list.map((child, i) => resolveNode(child, [...path, kind, i], leaf, at));
  const aggregates = items.filter(isAggregateCondition).length;
  if (aggregates !== 0 && aggregates !== items.length) {
    throw new FerryError('VALIDATION_FAILED', 'a group cannot mix filters on aggregates with filters on rows', { path: at(...path, kind) });
  }
  return { kind, items };
}

function isAggregateCondition(condition: ResolvedCondition): boolean {
  return condition.kind === 'compare' ? condition.aggregate !== undefined : condition.items.every(isAggregateCondition);
}

function conjunction(items: ResolvedCondition[]): ResolvedCondition | null {
  if (items.length === 0) return null;
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

function checkOperand(type: ColumnType, subject: string, operator: FilterOperator, operand: ResolvedComparison['operand'], path: FieldPath): void {
  if (TEXT_OPERATORS.has(operator) && type !== 'string') {
    throw new FerryError('TYPE_MISMATCH', `${operator} applies to text; ${subject} is ${type}`, { path });
  }
  if (ORDERED_OPERATORS.has(operator) && type === 'boolean') {
    throw new FerryError('TYPE_MISMATCH', `${operator} does not apply to booleans (${subject})`, { path });
  }
  if (operator === 'isNull' || TEXT_OPERATORS.has(operator)) return; // the schema already typed these
  if (Array.isArray(operand)) {
    const values = operand as FilterValue[];
    values.forEach((v, j) => checkValue(type, subject, v, [...path, j]));
    if (operator === 'between' && compareValues(type, values[0]!, values[1]!) > 0) {
      throw new FerryError('VALIDATION_FAILED', `between needs low <= high, got ${JSON.stringify(values)}`, { path });
    }
    return;
  }
  checkValue(type, subject, operand as FilterValue, path);
}

function resolveOrder(query: DatasetQuery, outputs: readonly ResolvedOutput[], at: (...path: Path) => FieldPath): ResolvedOrder[] {
  const order: ResolvedOrder[] = [];
  if (query.orderBy === null) return order;
  const used = new Set<number>();
  (query.orderBy ?? []).forEach((item, i) => {
    let index = outputs.findIndex((o) => o.name === item.column);
    if (index < 0) {
      // The column of exactly one scope also names its output (`asking_rent` for `avg_asking_rent`).
      const matches = outputs.flatMap((o, j) => (o.column.name === item.column ? [j] : []));
      if (matches.length === 1) index = matches[0]!;
    }
    if (index < 0) {
      throw new FerryError('UNKNOWN_COLUMN', `orderBy must name an output column (${outputs.map((o) => o.name).join(', ')}), got "${item.column}"`, {
        path: at('orderBy', i, 'column'),
      });
    }
    if (used.has(index)) throw new FerryError('VALIDATION_FAILED', `output "${outputs[index]!.name}" is ordered twice`, { path: at('orderBy', i) });
    used.add(index);
    order.push({ output: index, direction: item.direction });
  });
  // Every other output follows, ascending: the order is total, so LIMIT keeps the same rows each run.
  outputs.forEach((_, i) => {
    if (!used.has(i)) order.push({ output: i, direction: 'asc' });
  });
  return order;
}
