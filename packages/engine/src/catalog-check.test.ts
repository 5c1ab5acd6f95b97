import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetDefinition, FerryError, silentLogger, type Logger, type QuerySource } from '@ferry/core';
import { duckdbSource } from '@ferry/source-duckdb';
import { postgresSource } from '@ferry/source-postgres';
import { checkDatasetsAgainstSources } from './catalog-check.js';

let dir: string;
let duckdb: QuerySource;
let table: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-catalog-check-'));
  table = join(dir, 'orders.csv');
  // DuckDB reads a CSV file by its extension and infers BIGINT, VARCHAR, DOUBLE and DATE here.
  await writeFile(table, 'id,label,amount,day\n1,x1,1.5,2024-01-01\n2,x2,3.0,2024-01-02\n');
  duckdb = await duckdbSource.create(duckdbSource.options.parse({}), { logger: silentLogger, dataDir: dir });
});

afterAll(async () => {
  await duckdb?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const orders = (columns: Array<{ name: string; type: string }>, source = 'default') =>
  DatasetDefinition.parse({ key: 'orders', source, relation: { file: table }, columns: columns.map((c) => ({ ...c, role: 'dimension' })) });

const failure = async (promise: Promise<unknown>): Promise<FerryError> => {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
};

describe('the start-up check of datasets against their sources', () => {
  it('accepts a dataset whose columns exist with compatible types', async () => {
    const dataset = orders([
      { name: 'id', type: 'bigint' },
      { name: 'label', type: 'string' },
      { name: 'amount', type: 'decimal' },
      { name: 'day', type: 'date' },
    ]);
    await expect(checkDatasetsAgainstSources([{ dataset, path: ['datasets', 0] }], new Map([['default', duckdb]]), silentLogger)).resolves.toBeUndefined();
  });

  it('stops on a column the table does not have, naming the dataset, the column and its config path', async () => {
    const dataset = orders([{ name: 'id', type: 'bigint' }, { name: 'customer', type: 'string' }]);
    const err = await failure(checkDatasetsAgainstSources([{ dataset, path: ['datasets', 3] }], new Map([['default', duckdb]]), silentLogger));
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', path: ['datasets', 3, 'relation'] });
    expect(err.message).toMatch(/^dataset "orders" does not match its source "default": .*customer/);
  });

  it('stops on a declared type the source does not give, at the path of that column\'s type', async () => {
    const dataset = orders([{ name: 'id', type: 'bigint' }, { name: 'label', type: 'date' }]);
    const err = await failure(checkDatasetsAgainstSources([{ dataset, path: ['datasets', 0] }], new Map([['default', duckdb]]), silentLogger));
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', path: ['datasets', 0, 'columns', 1, 'type'] });
    expect(err.message).toBe('dataset "orders": column "label" is declared date, but its source gives Utf8');
  });

  it('does not stop start-up when the source cannot be reached now: it warns, and the export will say why', async () => {
    // A port that was just free on this machine: nothing listens there, so the connection is refused.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const pg = await postgresSource.create(postgresSource.options.parse({ connectionString: `postgres://postgres@127.0.0.1:${port}/test` }), { logger: silentLogger, dataDir: dir });
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_obj: unknown, msg?: string) => void warnings.push(String(msg)) };
    try {
      const dataset = DatasetDefinition.parse({ key: 'orders', source: 'warehouse', relation: { table: 'orders' }, columns: [{ name: 'id', type: 'bigint', role: 'dimension' }] });
      await checkDatasetsAgainstSources([{ dataset, path: ['datasets', 0] }], new Map([['warehouse', pg]]), logger);
      expect(warnings).toEqual([expect.stringMatching(/^could not check the dataset against its source now/)]);
    } finally {
      await pg.close();
    }
  });
});
