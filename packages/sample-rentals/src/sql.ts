import { MSAS, STREETS, SUFFIXES, UNIT_TYPES } from './geography.js';

/**
 * The SQL that builds the synthetic rentals table. Pure DuckDB arithmetic over `range()`:
 * every "random" number comes from `u01(key, salt)`, an integer hash of the row's key. We avoid
 * `random()`/`setseed()` (their sequence depends on thread scheduling) and `hash()` (its output
 * is not promised stable across DuckDB versions), so the same inputs give the same rows anywhere.
 */

export const PROPERTY_COUNT = 2400;
export const WEEK_COUNT = 104;
/** A Monday; every `as_of_week` is this date plus a whole number of weeks. */
export const FIRST_WEEK = '2024-01-01';

/** Constants here are ours, but quote them properly anyway so a future edit cannot break the SQL. */
const str = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const num = (n: number): string => {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
};

function referenceTables(): string[] {
  const msaRows = MSAS.map((m, i) => `(${i}, ${str(m.msa)}, ${str(m.state)}, ${num(m.rent1br)}, ${num(m.growth)}, ${m.cities.length})`);
  const cityRows = MSAS.flatMap((m, i) =>
    m.cities.map((c, j) => `(${i}, ${j}, ${str(c.city)}, ${num(c.lat)}, ${num(c.lon)}, ${num(c.zip)})`),
  );
  const unitRows = UNIT_TYPES.map((u) => `(${str(u.buildingType)}, ${u.slot}, ${u.bed}, ${num(u.bath)}, ${u.sqft}, ${num(u.factor)})`);
  return [
    `CREATE TEMP TABLE msa(msa_id INTEGER, msa VARCHAR, state VARCHAR, rent1br DOUBLE, growth DOUBLE, ncities INTEGER)`,
    `INSERT INTO msa VALUES ${msaRows.join(', ')}`,
    `CREATE TEMP TABLE city(msa_id INTEGER, city_idx INTEGER, city VARCHAR, lat DOUBLE, lon DOUBLE, zip INTEGER)`,
    `INSERT INTO city VALUES ${cityRows.join(', ')}`,
    `CREATE TEMP TABLE unit_type(building_type VARCHAR, slot INTEGER, bed INTEGER, bath DOUBLE, sqft INTEGER, factor DOUBLE)`,
    `INSERT INTO unit_type VALUES ${unitRows.join(', ')}`,
  ];
}

/**
 * `mix32` is the 32-bit integer finaliser from Chris Wellons' hash-prospector ((x ^ x>>16) * 0x45d9f3b),
 * done in BIGINT so the products never overflow (x < 2^32, multiplier < 2^27). `u01` maps a key and
 * a salt to [0, 1). Note DuckDB's `^` is power, hence `xor()`.
 */
const MACROS = [
  `CREATE TEMP MACRO mix32(x) AS (xor(x >> 16, x) * 73244475) % 4294967296`,
  `CREATE TEMP MACRO u01(k, salt) AS CAST(mix32(mix32(mix32((CAST(k AS BIGINT) * 7919 + salt * 104729) % 4294967296))) AS DOUBLE) / 4294967296.0`,
];

const list = (items: readonly string[]): string => `[${items.map(str).join(', ')}]`;

/** One row per property: location, building, quality and the knobs its weekly rows draw on. */
function propertyTable(): string {
  return `CREATE TEMP TABLE property AS
  WITH base AS (
    SELECT p,
           CAST(p % ${MSAS.length} AS INTEGER) AS msa_id,
           u01(p, 2) AS u_type,
           u01(p, 3) AS u_year
    FROM range(${PROPERTY_COUNT}) t(p)
  ), typed AS (
    SELECT b.*, m.ncities,
           CASE WHEN u_type < 0.28 THEN 'High-rise' WHEN u_type < 0.52 THEN 'Mid-rise'
                WHEN u_type < 0.86 THEN 'Garden' ELSE 'Townhome' END AS building_type,
           -- skewed towards newer stock: most professionally managed rentals are post-1980
           CAST(1960 + floor(pow(u_year, 0.6) * 65) AS INTEGER) AS year_built
    FROM base b JOIN msa m USING (msa_id)
  )
  SELECT t.p AS pid,
         CAST(100001 + t.p AS BIGINT) AS property_id,
         t.msa_id,
         CAST(floor(u01(t.p, 1) * t.ncities) AS INTEGER) AS city_idx,
         t.building_type,
         t.year_built,
         CAST(CASE t.building_type
                WHEN 'High-rise' THEN 150 + floor(u01(t.p, 4) * 300)
                WHEN 'Mid-rise' THEN 60 + floor(u01(t.p, 4) * 190)
                WHEN 'Garden' THEN 96 + floor(u01(t.p, 4) * 260)
                ELSE 24 + floor(u01(t.p, 4) * 100) END AS INTEGER) AS number_units,
         -- price position of the property within its market; newer buildings ask more
         (0.84 + 0.32 * u01(t.p, 5)) * (1 + 0.004 * (t.year_built - 1990)) AS quality,
         CAST(100 + floor(u01(t.p, 6) * 9800) AS INTEGER) || ' ' ||
           ${list(STREETS)}[1 + CAST(floor(u01(t.p, 7) * ${STREETS.length}) AS INTEGER)] || ' ' ||
           ${list(SUFFIXES)}[1 + CAST(floor(u01(t.p, 8) * ${SUFFIXES.length}) AS INTEGER)] AS street_address,
         u01(t.p, 9) - 0.5 AS dlat,
         u01(t.p, 10) - 0.5 AS dlon,
         CAST(floor(u01(t.p, 11) * 20) AS INTEGER) AS dzip,
         0.90 + 0.07 * u01(t.p, 12) AS base_occupancy,
         -- lease-ups (recent builds) discount often; stabilised buildings now and then
         CASE WHEN t.year_built >= 2022 THEN 0.45 ELSE 0.07 END AS concession_rate
  FROM typed t`;
}

/** The weekly rows: property x unit type x week, written straight into the output query. */
export function rowsQuery(): string {
  const twoPi = 2 * Math.PI;
  return `WITH unit AS (
    SELECT p.*, ut.slot, ut.bed, ut.bath, ut.factor,
           CAST(round(ut.sqft * (0.88 + 0.24 * u01(p.pid * 4 + ut.slot, 20))) AS INTEGER) AS sqft,
           ut.sqft AS typical_sqft
    FROM property p JOIN unit_type ut USING (building_type)
  ), weekly AS (
    SELECT u.*, w.w,
           (u.pid * 4 + u.slot) * ${WEEK_COUNT} + w.w AS k,
           -- concessions come in 8-week campaigns per property, worth 2, 4, 6 or 8 free weeks
           u01(u.pid * 64 + w.w // 8, 21) < u.concession_rate AS has_concession,
           2 * (1 + CAST(floor(u01(u.pid * 64 + w.w // 8, 22) * 4) AS INTEGER)) AS weeks_free,
           round(m.rent1br * u.factor * pow(u.sqft / u.typical_sqft, 0.4) * u.quality
                 * (1 + m.growth * w.w / 52.0)
                 * (1 + 0.012 * sin(${twoPi} * (w.w - 13) / 52.0))
                 * (1 + 0.02 * (u01((u.pid * 4 + u.slot) * ${WEEK_COUNT} + w.w, 23) - 0.5))) AS asking
    FROM unit u JOIN msa m USING (msa_id) CROSS JOIN range(${WEEK_COUNT}) w(w)
  )
  SELECT wk.property_id,
         wk.street_address,
         c.city,
         m.state,
         m.msa,
         lpad(CAST(c.zip + wk.dzip AS VARCHAR), 5, '0') AS zip_code,
         round(c.lat + wk.dlat * 0.14, 6) AS lat,
         round(c.lon + wk.dlon * 0.18, 6) AS lon,
         wk.building_type,
         wk.year_built,
         wk.number_units,
         wk.bed,
         wk.bath,
         wk.sqft,
         CAST(wk.asking AS INTEGER) AS asking_rent,
         CAST(wk.asking - CASE WHEN wk.has_concession THEN round(wk.asking * wk.weeks_free / 52.0) ELSE 0 END AS INTEGER) AS effective_rent,
         CASE WHEN wk.has_concession THEN CAST(round(wk.asking * wk.weeks_free / 52.0) AS INTEGER) END AS concession,
         round(least(0.995, wk.base_occupancy
                     + 0.015 * sin(${twoPi} * (wk.w + wk.pid) / 52.0)
                     + 0.01 * (u01(wk.k, 24) - 0.5)
                     - CASE WHEN wk.has_concession THEN 0.02 ELSE 0 END), 3) AS occupancy,
         CAST(DATE '${FIRST_WEEK}' + CAST(7 * wk.w AS INTEGER) AS DATE) AS as_of_week
  FROM weekly wk
  JOIN msa m USING (msa_id)
  JOIN city c ON c.msa_id = wk.msa_id AND c.city_idx = wk.city_idx
  ORDER BY wk.property_id, wk.slot, as_of_week`;
}

/** Statements to run before `rowsQuery()`, in order. */
export function setupStatements(): string[] {
  return [...MACROS, ...referenceTables(), propertyTable()];
}
