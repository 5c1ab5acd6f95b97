import { DataType } from 'apache-arrow';
import { FerryError, isFerryError, type ColumnType, type DatasetDefinition, type FieldPath, type Logger, type QuerySource, type ResolvedQuery } from '@ferry/core';

/** Arrow types a source may give for a column of each declared type (filters cast their values to the declared type). */
const COMPATIBLE: Record<ColumnType, (type: DataType) => boolean> = {
  string: (t) => DataType.isUtf8(t) || DataType.isLargeUtf8(t) || (DataType.isDictionary(t) && (DataType.isUtf8(t.dictionary) || DataType.isLargeUtf8(t.dictionary))),
  integer: (t) => DataType.isInt(t),
  bigint: (t) => DataType.isInt(t),
  double: (t) => DataType.isFloat(t) || DataType.isInt(t) || DataType.isDecimal(t),
  decimal: (t) => DataType.isDecimal(t) || DataType.isFloat(t) || DataType.isInt(t),
  boolean: (t) => DataType.isBool(t),
  date: (t) => DataType.isDate(t) || DataType.isTimestamp(t),
  timestamp: (t) => DataType.isTimestamp(t) || DataType.isDate(t),
};

export interface CheckedDataset {
  dataset: DatasetDefinition;
  /** Where the dataset is in the config, for the error. */
  path: FieldPath;
}

/**
 * Check each dataset against its source before serving it: a zero-row query over every declared
 * column must run, and give each column a type compatible with the declared one. A mistake stops
 * start-up with the config path of the bad dataset or column, instead of failing every export of
 * it later. A source that cannot be reached now is not a config mistake: it is logged, and the
 * readiness check reports it.
 */
export async function checkDatasetsAgainstSources(datasets: readonly CheckedDataset[], sources: ReadonlyMap<string, QuerySource>, logger: Logger): Promise<void> {
  for (const { dataset, path } of datasets) {
    const source = sources.get(dataset.source);
    if (!source) continue;
    let fields: ReadonlyArray<{ name: string; type: DataType }>;
    try {
      fields = await probe(source, dataset);
    } catch (err) {
      if (isFerryError(err) && err.retryable) {
        logger.warn({ dataset: dataset.key, source: dataset.source, err: err.message }, 'could not check the dataset against its source now; exports of it will say why if it is wrong');
        continue;
      }
      const reason = err instanceof Error ? err.message : String(err);
      throw new FerryError('INVALID_CONFIG', `dataset "${dataset.key}" does not match its source "${dataset.source}": ${reason}`, { path: [...path, 'relation'] });
    }
    dataset.columns.forEach((column, i) => {
      const field = fields[i];
      if (field && !COMPATIBLE[column.type](field.type)) {
        throw new FerryError('INVALID_CONFIG', `dataset "${dataset.key}": column "${column.name}" is declared ${column.type}, but its source gives ${String(field.type)}`, {
          path: [...path, 'columns', i, 'type'],
        });
      }
    });
  }
}

/** The source's schema for every declared column, from a query that returns no rows (LIMIT 0: no scan, no sort). */
async function probe(source: QuerySource, dataset: DatasetDefinition): Promise<ReadonlyArray<{ name: string; type: DataType }>> {
  const query: ResolvedQuery = {
    dataset,
    query: { scopes: dataset.columns.map((c) => ({ column: c.name })) },
    outputs: dataset.columns.map((column) => ({ name: column.name, column, type: column.type })),
    limit: 0,
    aggregated: false,
    where: null,
    having: null,
    orderBy: [],
  };
  const controller = new AbortController();
  const rows = await source.open(query, { signal: controller.signal, batchRows: 1 });
  // Read to the end (there are no rows) so the source releases its cursor and connection the normal way.
  for await (const batch of rows.batches) if (batch.numRows > 0) break;
  return rows.schema.fields;
}
