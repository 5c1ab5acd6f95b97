/**
 * The benchmark table: 5,000,000 rows x 11 columns of rentals, made deterministically in DuckDB,
 * written as Parquet and loaded into PostgreSQL (schema ferry_bench). Built once, then reused.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export const BENCH_DIR = join(tmpdir(), 'ferry-bench-data');
export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
export const PG_TABLE = 'ferry_bench.rentals';

/** The table's columns as a Ferry catalog declares them: name, type, role. */
export const BENCH_COLUMNS = [
  ['property_id', 'bigint', 'dimension'],
  ['street_address', 'string', 'dimension'],
  ['city', 'string', 'dimension'],
  ['state', 'string', 'dimension'],
  ['zip_code', 'string', 'dimension'],
  ['bed', 'integer', 'dimension'],
  ['bath', 'double', 'dimension'],
  ['sqft', 'integer', 'measure'],
  ['asking_rent', 'integer', 'measure'],
  ['concession', 'integer', 'measure'],
  ['as_of_week', 'date', 'time'],
] as const;

const COLUMNS = `
  i AS property_id,
  (i % 9973 + 100)::VARCHAR || ' ' || ['Pine', 'Oak', 'Maple', 'Cedar', 'Elm', 'Lake', 'Hill'][(i % 7) + 1] || ' ' || ['St', 'Ave', 'Blvd', 'Way'][(i % 4) + 1] AS street_address,
  ['Seattle', 'Portland', 'Austin', 'Denver', 'Boston', 'Chicago', 'Miami', 'Phoenix'][(i % 8) + 1] AS city,
  ['WA', 'OR', 'TX', 'CO', 'MA', 'IL', 'FL', 'AZ'][(i % 8) + 1] AS state,
  lpad(((i * 7919) % 99999)::VARCHAR, 5, '0') AS zip_code,
  (i % 5)::INTEGER AS bed,
  1 + (i % 3) * 0.5 AS bath,
  (400 + (i * 37) % 1800)::INTEGER AS sqft,
  (900 + (i * 131) % 4100)::INTEGER AS asking_rent,
  CASE WHEN i % 10 = 0 THEN ((i * 17) % 500)::INTEGER END AS concession,
  DATE '2024-01-01' + INTERVAL (7 * (i % 104)) DAY AS as_of_week`;

export async function ensureBenchData(rows = 5_000_000): Promise<{ parquet: string; rows: number }> {
  await mkdir(BENCH_DIR, { recursive: true });
  const parquet = join(BENCH_DIR, `rentals-${rows}.parquet`);
  if (!existsSync(parquet)) {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT ${COLUMNS} FROM range(${rows}) t(i)) TO '${parquet}' (FORMAT parquet)`);
    conn.closeSync();
  }
  const have = psql(`SELECT count(*) FROM ${PG_TABLE}`, true);
  if (have.trim() !== String(rows)) {
    const csv = join(BENCH_DIR, 'load.csv');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT * FROM read_parquet('${parquet}')) TO '${csv}' (FORMAT csv, HEADER)`);
    conn.closeSync();
    psql(`DROP SCHEMA IF EXISTS ferry_bench CASCADE; CREATE SCHEMA ferry_bench;
      CREATE TABLE ${PG_TABLE} (property_id bigint, street_address text, city text, state text, zip_code text, bed integer,
        bath double precision, sqft integer, asking_rent integer, concession integer, as_of_week date)`);
    execFileSync('psql', ['-h', PG.host, '-U', PG.user, '-d', PG.database, '-q', '-c', `\\copy ${PG_TABLE} FROM '${csv}' WITH (FORMAT csv, HEADER)`]);
    psql(`ANALYZE ${PG_TABLE}`);
    await rm(csv);
  }
  return { parquet, rows };
}

/** The shell command for psql's `\copy (query) to <target>` on the benchmark database. */
export function psqlCopyCommand(query: string, target: string): string {
  return `psql -h ${PG.host} -p ${PG.port} -U ${PG.user} -d ${PG.database} -q -c "\\copy (${query}) to ${target}"`;
}

export function psql(sql: string, tolerateError = false): string {
  try {
    return execFileSync('psql', ['-h', PG.host, '-U', PG.user, '-d', PG.database, '-At', '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (tolerateError) return '';
    throw err;
  }
}
