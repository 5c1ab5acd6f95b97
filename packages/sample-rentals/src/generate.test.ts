import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createCatalog, resolveQuery } from '@ferry/core';
import { ensureRentalsDataset, rentalsPath } from './generate.js';
import { RENTALS_COLUMNS, RENTALS_SCHEMA_DOC, rentalsDataset } from './dataset.js';

const dirs: string[] = [];
let first: string;
let second: string;
let instance: DuckDBInstance;
let conn: DuckDBConnection;

const scan = (file: string) => `read_parquet('${file.replaceAll("'", "''")}')`;

async function one(sql: string): Promise<Record<string, unknown>> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS()[0]!;
}

/**
 * A canonical digest of the whole table: every row rendered as text (the row as a struct), hashed
 * with md5 by DuckDB (a fixed algorithm, unlike hash()), combined order-independently with exact
 * integer aggregates (a sum of UHUGEINTs would be a DOUBLE, whose rounding depends on thread
 * scheduling), then sha256 over the result.
 */
async function digest(file: string): Promise<string> {
  const row = await one(`SELECT count(*) AS n,
      bit_xor(md5_number_lower(CAST(r AS VARCHAR))) AS x,
      sum(md5_number_upper(CAST(r AS VARCHAR)) % 1000000007) AS s
    FROM ${scan(file)} r`);
  return createHash('sha256').update(`${String(row['n'])}:${String(row['x'])}:${String(row['s'])}`).digest('hex');
}

beforeAll(async () => {
  for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(join(tmpdir(), 'ferry-rentals-')));
  // One after the other: each generation already uses every core.
  first = await ensureRentalsDataset(dirs[0]!);
  second = await ensureRentalsDataset(dirs[1]!);
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
});

afterAll(async () => {
  conn?.closeSync();
  instance?.closeSync();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('ensureRentalsDataset', () => {
  it('writes <dataDir>/datasets/rentals.parquet', () => {
    expect(first).toBe(rentalsPath(dirs[0]!));
    expect(first).toBe(join(dirs[0]!, 'datasets', 'rentals.parquet'));
  });

  it('is deterministic', async () => {
    expect(await digest(first)).toBe(await digest(second));
  });

  it('does not regenerate an existing file', async () => {
    const before = await stat(first);
    expect(await ensureRentalsDataset(dirs[0]!)).toBe(first);
    expect((await stat(first)).mtimeMs).toBe(before.mtimeMs);
  });

  it('has about a million rows, Mondays only, a few NULL concessions', async () => {
    const row = await one(`SELECT count(*) AS n,
        count(*) FILTER (WHERE isodow(as_of_week) <> 1) AS not_monday,
        count(DISTINCT as_of_week) AS weeks,
        count(DISTINCT property_id) AS properties,
        count(DISTINCT msa) AS msas,
        count(concession) AS with_concession,
        count(*) FILTER (WHERE effective_rent <> asking_rent - coalesce(concession, 0)) AS bad_effective,
        min(bed) AS min_bed, max(bed) AS max_bed,
        min(occupancy) AS min_occ, max(occupancy) AS max_occ
      FROM ${scan(first)}`);
    expect(Number(row['n'])).toBeGreaterThan(950_000);
    expect(Number(row['n'])).toBeLessThanOrEqual(1_000_000);
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
      `SELECT bed, avg(asking_rent) AS rent FROM ${scan(first)} WHERE msa = 'Seattle, WA' GROUP BY bed ORDER BY bed`,
    );
    const rows = reader.getRowObjectsJS();
    expect(rows.map((r) => r['bed'])).toEqual([0, 1, 2, 3, 4]);
    const rents = rows.map((r) => Number(r['rent']));
    for (let i = 1; i < rents.length; i++) expect(rents[i]).toBeGreaterThan(rents[i - 1]!);
    expect(rents[1]).toBeGreaterThan(1500);
    expect(rents[1]).toBeLessThan(3500);
  });

  it('matches its catalog entry', async () => {
    const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${scan(first)}`);
    const described = reader.getRowObjectsJS().map((r) => [r['column_name'], r['column_type']]);
    expect(described).toEqual(RENTALS_COLUMNS.map((c) => [c.name, c.sqlType]));

    const dataset = rentalsDataset(first);
    expect(dataset.key).toBe('rentals');
    expect(dataset.relation).toEqual({ file: first });
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
