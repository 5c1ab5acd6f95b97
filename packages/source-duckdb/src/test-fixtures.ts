import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DatasetDefinition } from '@ferry/core';

/** Test-only helpers: a temp dir and a small Parquet file written by DuckDB itself. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const HOSTILE = `'); DROP TABLE people; --`;
export const LONG_TEXT = 'Ünïcødé street name well beyond twelve bytes ✓';

/** Rows chosen to hit every mapping: NULLs, > 2^53 bigints, negative decimals, pre-epoch dates, long strings. */
export async function writeFixtures(dir: string): Promise<{ typesFile: string; groupsFile: string; dbFile: string }> {
  const typesFile = join(dir, 'types.parquet');
  const groupsFile = join(dir, 'groups.parquet');
  const dbFile = join(dir, 'people.duckdb');
  const instance = await DuckDBInstance.create(dbFile);
  const conn = await instance.connect();
  try {
    await conn.run(`COPY (
      SELECT * FROM (VALUES
        (1, 'Alpha', 9007199254740993::BIGINT, 12.34::DECIMAL(10,2), DATE '2024-01-01', TIMESTAMP '2024-01-01 10:20:30.123456',
         TIMESTAMPTZ '2024-01-01 10:20:30.5+02:00', true, 1.5::DOUBLE, 7::TINYINT, 12345678901234567890123456.78::DECIMAL(38,2), (-5)::SMALLINT),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, '${LONG_TEXT}', -9007199254740993::BIGINT, -0.05::DECIMAL(10,2), DATE '1969-12-31', TIMESTAMP '1969-12-31 23:59:59',
         TIMESTAMPTZ '2000-06-01 00:00:00+00', false, -2.25::DOUBLE, (-128)::TINYINT, -1.01::DECIMAL(38,2), 32767::SMALLINT),
        (4, '${HOSTILE.replaceAll("'", "''")}', 0::BIGINT, 0::DECIMAL(10,2), DATE '2024-02-29', TIMESTAMP '2024-02-29 00:00:00',
         TIMESTAMPTZ '2024-02-29 00:00:00+00', true, 0::DOUBLE, 0::TINYINT, 0::DECIMAL(38,2), 0::SMALLINT)
      ) t(id, name, big, price, day, ts, tstz, flag, dbl, tiny, bigdec, small)
    ) TO '${typesFile}' (FORMAT parquet)`);
    await conn.run(`COPY (
      SELECT CAST(i AS INTEGER) AS i, CAST(i % 3 AS INTEGER) AS g, CAST(i AS DOUBLE) AS v,
             CASE WHEN i % 10 = 0 THEN NULL ELSE 'row ' || i || ' with a longer label' END AS label
      FROM range(10000) r(i)
    ) TO '${groupsFile}' (FORMAT parquet)`);
    await conn.run(`CREATE TABLE people(id INTEGER, name VARCHAR)`);
    await conn.run(`INSERT INTO people VALUES (1, 'Ann'), (2, 'Bob')`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return { typesFile, groupsFile, dbFile };
}

export function typesDataset(file: string): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'types',
    relation: { file },
    columns: [
      { name: 'id', type: 'integer', role: 'dimension' },
      { name: 'name', type: 'string', role: 'dimension' },
      { name: 'big', type: 'bigint', role: 'dimension' },
      { name: 'price', type: 'decimal', role: 'measure' },
      { name: 'day', type: 'date', role: 'time' },
      { name: 'ts', type: 'timestamp', role: 'time' },
      { name: 'tstz', type: 'timestamp', role: 'time' },
      { name: 'flag', type: 'boolean', role: 'dimension' },
      { name: 'dbl', type: 'double', role: 'measure' },
      { name: 'tiny', type: 'integer', role: 'dimension' },
      { name: 'bigdec', type: 'decimal', role: 'measure' },
      { name: 'small', type: 'integer', role: 'dimension' },
    ],
  });
}

export function groupsDataset(file: string): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'groups',
    relation: { file },
    columns: [
      { name: 'i', type: 'integer', role: 'dimension' },
      { name: 'g', type: 'integer', role: 'dimension' },
      { name: 'v', type: 'double', role: 'measure' },
      { name: 'label', type: 'string', role: 'dimension' },
    ],
  });
}

export function peopleDataset(): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'people',
    relation: { table: 'main.people' },
    columns: [
      { name: 'id', type: 'integer', role: 'dimension' },
      { name: 'name', type: 'string', role: 'dimension' },
    ],
  });
}
