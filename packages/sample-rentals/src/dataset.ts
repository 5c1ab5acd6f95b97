import { DatasetDefinition, type ColumnDefinition } from '@ferry/core';

type ColumnSpec = Pick<ColumnDefinition, 'name' | 'type' | 'role'> & { description: string; sqlType: string };

/**
 * The one description of the rentals columns: the catalog entry and the README table are both
 * derived from it, so they cannot drift apart. `sqlType` is the physical Parquet/DuckDB type.
 */
export const RENTALS_COLUMNS: readonly ColumnSpec[] = [
  { name: 'property_id', type: 'bigint', sqlType: 'BIGINT', role: 'dimension', description: 'Stable id of the property (building or complex).' },
  { name: 'street_address', type: 'string', sqlType: 'VARCHAR', role: 'dimension', description: 'Street address, e.g. `3492 Lincoln Ct`.' },
  { name: 'city', type: 'string', sqlType: 'VARCHAR', role: 'dimension', description: 'City the property is in.' },
  { name: 'state', type: 'string', sqlType: 'VARCHAR', role: 'dimension', description: 'Two-letter state code.' },
  { name: 'msa', type: 'string', sqlType: 'VARCHAR', role: 'dimension', description: 'Metropolitan statistical area, e.g. `Seattle, WA` (20 markets).' },
  { name: 'zip_code', type: 'string', sqlType: 'VARCHAR', role: 'dimension', description: 'Five-digit ZIP code (text: keeps leading zeros).' },
  { name: 'lat', type: 'double', sqlType: 'DOUBLE', role: 'dimension', description: 'Latitude (WGS 84), near the city centre.' },
  { name: 'lon', type: 'double', sqlType: 'DOUBLE', role: 'dimension', description: 'Longitude (WGS 84).' },
  { name: 'building_type', type: 'string', sqlType: 'VARCHAR', role: 'dimension', description: '`High-rise`, `Mid-rise`, `Garden` or `Townhome`.' },
  { name: 'year_built', type: 'integer', sqlType: 'INTEGER', role: 'dimension', description: 'Year the property was completed (1960-2024).' },
  { name: 'number_units', type: 'integer', sqlType: 'INTEGER', role: 'measure', description: 'Number of units in the property.' },
  { name: 'bed', type: 'integer', sqlType: 'INTEGER', role: 'dimension', description: 'Bedrooms of the unit type, 0 (studio) to 4.' },
  { name: 'bath', type: 'double', sqlType: 'DOUBLE', role: 'dimension', description: 'Bathrooms of the unit type (1, 1.5, 2, 2.5, 3).' },
  { name: 'sqft', type: 'integer', sqlType: 'INTEGER', role: 'measure', description: 'Typical interior area of the unit type, in square feet.' },
  { name: 'asking_rent', type: 'integer', sqlType: 'INTEGER', role: 'measure', description: 'Advertised monthly rent in USD for the week.' },
  { name: 'effective_rent', type: 'integer', sqlType: 'INTEGER', role: 'measure', description: 'Monthly rent net of concessions: `asking_rent - coalesce(concession, 0)`.' },
  { name: 'concession', type: 'integer', sqlType: 'INTEGER', role: 'measure', description: 'Monthly value in USD of free weeks on a 12-month lease; NULL (most rows) when none is offered.' },
  { name: 'occupancy', type: 'double', sqlType: 'DOUBLE', role: 'measure', description: 'Share of the property\'s units occupied, 0-1.' },
  { name: 'as_of_week', type: 'date', sqlType: 'DATE', role: 'time', description: 'Week of the observation: always a Monday, 104 consecutive weeks from 2024-01-01.' },
];

/** The catalog entry for a generated rentals file (see `ensureRentalsDataset`). */
export function rentalsDataset(file: string): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'rentals',
    description:
      'Synthetic US multifamily rents: ~2,400 properties in 20 metro areas, each with four unit types, observed weekly for two years (998,400 rows).',
    relation: { file },
    columns: RENTALS_COLUMNS.map(({ name, type, role, description }) => ({ name, type, role, description })),
    primaryKey: ['property_id', 'bed', 'bath', 'as_of_week'],
    limits: { maxRows: 1_000_000 },
  });
}

/** Markdown table of the columns, for the README. */
export const RENTALS_SCHEMA_DOC: string = [
  '| column | type | role | description |',
  '| --- | --- | --- | --- |',
  ...RENTALS_COLUMNS.map((c) => `| \`${c.name}\` | ${c.sqlType} | ${c.role} | ${c.description.replaceAll('|', '\\|')} |`),
].join('\n');
