import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { rowsQuery, setupStatements } from './sql.js';

export const RENTALS_FILE_NAME = 'rentals.parquet';

/** Where the sample lives under a Ferry data directory. */
export function rentalsPath(dataDir: string): string {
  return join(dataDir, 'datasets', RENTALS_FILE_NAME);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** DuckDB string literal; the path is ours, but a data dir may well contain a quote. */
const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * Write the synthetic rentals dataset to `file` (overwriting). The Parquet is written to a
 * temp name in the same directory and renamed into place, so readers never see a partial file
 * and two concurrent generators both end with a complete (identical) file.
 */
export async function generateRentals(file: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${RENTALS_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const conn = await instance.connect();
    try {
      for (const statement of setupStatements()) await conn.run(statement);
      await conn.run(`COPY (${rowsQuery()}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
    } finally {
      conn.closeSync();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    instance.closeSync();
  }
}

/**
 * Make sure `<dataDir>/datasets/rentals.parquet` exists, generating it (a few seconds) if absent.
 * Returns its absolute-or-as-given path. Deterministic: the same rows every time, on every machine.
 */
export async function ensureRentalsDataset(dataDir: string): Promise<string> {
  const file = rentalsPath(dataDir);
  if (await exists(file)) return file;
  await generateRentals(file, join(dataDir, 'datasets'));
  return file;
}
