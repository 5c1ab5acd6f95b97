import { allowedAggregates, allowedGranularities, type DatasetDefinition } from '@ferry/core';

/** What a client may ask of a dataset; never where it lives (relation and source stay private). */
export function describeDataset(dataset: DatasetDefinition, formats: readonly string[]) {
  return {
    key: dataset.key,
    description: dataset.description ?? null,
    primaryKey: dataset.primaryKey ?? null,
    limits: dataset.limits,
    columns: dataset.columns
      .filter((c) => c.exportable)
      .map((c) => ({
        name: c.name,
        type: c.type,
        role: c.role,
        description: c.description ?? null,
        aggregates: allowedAggregates(c),
        granularities: allowedGranularities(c),
      })),
    formats: [...formats],
  };
}
