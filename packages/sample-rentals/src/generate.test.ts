import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createCatalog, resolveQuery } from '@ferry/core';
import { ensureRentalsDataset, rentalsPath } from './generate.js';
import { RENTALS_COLUMNS, RENTALS_SCHEMA_DOC, rentalsDataset } from './dataset.js';

/**
 * The promise (README, "The sample dataset"): generated deterministically from a fixed seed, the
 * same data on every machine, 998,400 rows. Pinned by a digest of every value of every row, taken
 * once from the generator and written here: a change to the data on any machine, any DuckDB
 * version or thread count, fails it. The run generates the dataset once
 * (apps/cli/src/test-support/global-setup.ts); this checks that file.
 */
const GOLDEN_ROWS = 998_400;
const GOLDEN_DIGEST = '4d57531da53f5cd539e0f6af595ed26a50ca6a1a70c61eff4c6c86883f097902';

let dir: string;
let sample: string;
let instance: DuckDBInstance;
let conn: DuckDBConnection;

const scan = (file: string) => `read_parquet('${file.replaceAll("'", "''")}')`;

async function one(sql: string): Promise<Record<string, unknown>> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS()[0]!;
}

/**
 * Each value as text that depends only on the value: integers in decimal, doubles with 17
 * significant digits (exact for every double, unlike a default rendering that may change between
 * DuckDB versions), dates as ISO, NULL as a marker no text holds.
 */
function canonical(column: { name: string; sqlType: string }): string {
  const c = `"${column.name}"`;
  const text = column.sqlType === 'DOUBLE' ? `printf('%.17g', ${c})` : column.sqlType === 'DATE' ? `strftime(${c}, '%Y-%m-%d')` : `CAST(${c} AS VARCHAR)`;
  return `coalesce(${text}, chr(30))`;
}

/**
 * The digest of the whole table: each row's canonical text hashed with md5 by DuckDB, combined
 * independently of row order with exact integer aggregates (a sum of UHUGEINTs would be a DOUBLE,
 * whose rounding depends on thread scheduling), then sha256 over the result.
 */
async function digest(file: string): Promise<{ rows: number; digest: string }> {
  const row = `concat_ws(chr(31), ${RENTALS_COLUMNS.map(canonical).join(', ')})`;
  const result = await one(`SELECT count(*) AS n,
      bit_xor(md5_number_lower(${row})) AS x,
      sum(md5_number_upper(${row}) % 1000000007) AS s
    FROM ${scan(file)}`);
  return { rows: Number(result['n']), digest: createHash('sha256').update(`${String(result['n'])}:${String(result['x'])}:${String(result['s'])}`).digest('hex') };
}

beforeAll(async () => {
  sample = inject('rentalsFile');
  dir = await mkdtemp(join(tmpdir(), 'ferry-rentals-'));
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
});

afterAll(async () => {
  conn?.closeSync();
  instance?.closeSync();
  await rm(dir, { recursive: true, force: true });
});

describe('ensureRentalsDataset', () => {
  it('is the same data on every machine: 998,400 rows with the golden digest', async () => {
    expect(await digest(sample)).toEqual({ rows: GOLDEN_ROWS, digest: GOLDEN_DIGEST });
  });

  it('uses <dataDir>/datasets/rentals.parquet, and does not regenerate a file that is there', async () => {
    const file = rentalsPath(dir);
    expect(file).toBe(join(dir, 'datasets', 'rentals.parquet'));
    await mkdir(join(dir, 'datasets'));
    await copyFile(sample, file);
    const before = await stat(file);
    expect(await ensureRentalsDataset(dir)).toBe(file);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
  });

  it('has Mondays only, 104 weeks, 2,400 properties in 20 markets, and a few NULL concessions', async () => {
    const row = await one(`SELECT count(*) AS n,
        count(*) FILTER (WHERE isodow(as_of_week) <> 1) AS not_monday,
        count(DISTINCT as_of_week) AS weeks,
        count(DISTINCT property_id) AS properties,
        count(DISTINCT msa) AS msas,
        count(concession) AS with_concession,
        count(*) FILTER (WHERE effective_rent <> asking_rent - coalesce(concession, 0)) AS bad_effective,
        min(bed) AS min_bed, max(bed) AS max_bed,
        min(occupancy) AS min_occ, max(occupancy) AS max_occ
      FROM ${scan(sample)}`);
    expect(Number(row['n'])).toBe(GOLDEN_ROWS);
    expect(Number(row['not_monday'])).toBe(0);
    expect(Number(row['weeks'])).toBe(104);
    expect(Number(row['properties'])).toBe(2400);
    expect(Number(row['msas'])).toBe(20);
    expect(Number(row['with_concession'])).toBeGreaterThan(0);
    expect(Number(row['with_concession'])).toBeLessThan(Number(row['n']) / 2);
    expect(Number(row['bad_effective'])).toBe(0);
    expect([row['min_bed'], row['max_bed']]).toEqual([0, 4]);
    expect(Number(row['min_occ'])).toBeGreaterThan(0.8);
    expect(Number(row['max_occ'])).toBeLessThanOrEqual(1);
  });

  it('has every bed count 0..4 in Seattle, and rents that rise with bedrooms', async () => {
    const reader = await conn.runAndReadAll(
      `SELECT bed, avg(asking_rent) AS rent FROM ${scan(sample)} WHERE msa = 'Seattle, WA' GROUP BY bed ORDER BY bed`,
    );
    const rows = reader.getRowObjectsJS();
    expect(rows.map((r) => r['bed'])).toEqual([0, 1, 2, 3, 4]);
    const rents = rows.map((r) => Number(r['rent']));
    for (let i = 1; i < rents.length; i++) expect(rents[i]).toBeGreaterThan(rents[i - 1]!);
    expect(rents[1]).toBeGreaterThan(1500);
    expect(rents[1]).toBeLessThan(3500);
  });

  it('matches its catalog entry', async () => {
    const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${scan(sample)}`);
    const described = reader.getRowObjectsJS().map((r) => [r['column_name'], r['column_type']]);
    expect(described).toEqual(RENTALS_COLUMNS.map((c) => [c.name, c.sqlType]));

    const dataset = rentalsDataset(sample);
    expect(dataset.key).toBe('rentals');
    expect(dataset.relation).toEqual({ file: sample });
    expect(dataset.limits.maxRows).toBe(1_000_000);
    expect(dataset.columns.find((c) => c.name === 'as_of_week')?.role).toBe('time');
    expect(dataset.columns.find((c) => c.name === 'asking_rent')?.role).toBe('measure');
    expect(dataset.columns.find((c) => c.name === 'msa')?.role).toBe('dimension');
    // The seed query resolves against it.
    const resolved = resolveQuery(createCatalog([dataset]), {
      scopes: [{ column: 'street_address' }, { column: 'asking_rent', aggregate: 'Avg' }],
      filters: [
        { column: 'msa', filter: { equals: 'Seattle, WA' } },
        { column: 'bed', filter: { in: [1, 2, 3] } },
      ],
      limit: 10000,
    });
    expect(resolved.outputs.map((o) => o.name)).toEqual(['street_address', 'avg_asking_rent']);
    expect(RENTALS_SCHEMA_DOC.split('\n')).toHaveLength(RENTALS_COLUMNS.length + 2);
    // The README's table is generated from the same source; regenerate it if this fails.
    expect(await readFile(new URL('../README.md', import.meta.url), 'utf8')).toContain(RENTALS_SCHEMA_DOC);
  });
});
