import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCatalog, DatasetDefinition, FerryError, resolveQuery, type DatasetQuery } from '@ferry/core';
import { describePostgres, requirePostgres } from '@ferry/testing';
import { PostgresSourceOptions } from './options.js';
import { PostgresSource } from './source.js';
import { localOptions, testLogger, withSchema } from './test-support.js';

const service = await requirePostgres();
const never = new AbortController().signal;

/** Which failures an export should retry: the source says so with `retryable` (issue 15 #3). */
describePostgres('postgres source: permanent and transient failures', service, (server) => {
  let schema: Awaited<ReturnType<typeof withSchema>>;
  let source: PostgresSource;
  const sources: PostgresSource[] = [];

  beforeAll(async () => {
    schema = await withSchema(server, 'ferry_source_errors');
    await schema.admin.query(`CREATE TABLE "${schema.schema}".orders (id int4, note text)`);
    await schema.admin.query(`INSERT INTO "${schema.schema}".orders VALUES (1, 'one'), (2, 'two')`);
    // Stands in for a write conflict under SERIALIZABLE: the same SQLSTATE, on demand.
    await schema.admin.query(`
      CREATE FUNCTION "${schema.schema}".conflict() RETURNS int4 LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END $$`);
    source = PostgresSource.create(PostgresSourceOptions.parse(localOptions(server, { schema: schema.schema })), { logger: testLogger });
    sources.push(source);
  });

  afterAll(async () => {
    for (const s of sources) await s.close();
    await schema?.drop();
  });

  async function failure(on: PostgresSource, dataset: unknown, query: DatasetQuery): Promise<FerryError> {
    const err = await (async () => {
      const stream = await on.open(resolveQuery(createCatalog([DatasetDefinition.parse(dataset)]), query), { signal: never });
      for await (const batch of stream.batches) void batch;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  }

  const id = { name: 'id', type: 'integer', role: 'dimension' };

  it('a column the table lacks (42703) is QUERY_FAILED and not retryable, with the reason', async () => {
    const err = await failure(
      source,
      { key: 'orders', relation: { table: 'orders' }, columns: [id, { name: 'amount', type: 'decimal', role: 'measure' }] },
      { from: 'orders', scopes: [{ column: 'id' }, { column: 'amount' }] },
    );
    expect(err).toMatchObject({ code: 'QUERY_FAILED', retryable: false, plugin: 'source:postgres' });
    expect(err.message).toContain('column "amount" does not exist');
  });

  it('a value that does not convert (22P02) is not retryable', async () => {
    const err = await failure(
      source,
      { key: 'casted', relation: { sql: 'SELECT id, CAST(note AS int4) AS n FROM orders' }, columns: [id, { name: 'n', type: 'integer', role: 'dimension' }] },
      { from: 'casted', scopes: [{ column: 'n' }] },
    );
    expect(err).toMatchObject({ code: 'QUERY_FAILED', retryable: false, message: expect.stringContaining('invalid input syntax') });
  });

  it('a role that does not exist (28000) is not retryable', async () => {
    const stranger = PostgresSource.create(PostgresSourceOptions.parse(localOptions(server, { user: 'ferry_no_such_role' })), { logger: testLogger });
    sources.push(stranger);
    const err = await failure(stranger, { key: 'orders', relation: { table: 'orders' }, columns: [id] }, { from: 'orders', scopes: [{ column: 'id' }] });
    expect(err).toMatchObject({ code: 'QUERY_FAILED', retryable: false, message: expect.stringContaining('ferry_no_such_role') });
  });

  it('a serialization failure (40001) is worth another attempt', async () => {
    const err = await failure(source, { key: 'racy', relation: { sql: 'SELECT conflict() AS id' }, columns: [id] }, { from: 'racy', scopes: [{ column: 'id' }] });
    expect(err).toMatchObject({ code: 'QUERY_FAILED', retryable: true, message: expect.stringContaining('could not serialize') });
  });
});
