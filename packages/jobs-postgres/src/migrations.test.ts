import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { describePostgres, requirePostgres } from '@ferry/testing';
import { MIGRATIONS, migratePostgres, PostgresJobStore } from './index.js';
import { newSchemaName, poolBackends, StoreFixture } from './test-support.js';

const service = await requirePostgres();

describePostgres('postgres job store: migrations and schemas', service, (server) => {
  const fixture = new StoreFixture(server);
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });

  afterAll(async () => {
    await fixture.cleanup();
    await admin?.end();
  });

  const versions = async (schema: string): Promise<number[]> =>
    (await admin.query(`SELECT version FROM "${schema}".ferry_migrations ORDER BY version`)).rows.map((r) => Number(r.version));
  const latest = MIGRATIONS.length;
  const everyVersion = Array.from({ length: latest }, (_, i) => i + 1);

  it('four stores starting together on a new schema migrate it once, and all of them work', async () => {
    const schema = fixture.location();
    const stores = await Promise.all([1, 2, 3, 4].map(() => fixture.open(schema, { listen: false })));
    expect(await versions(schema)).toEqual(everyVersion);
    const account = await stores[0]!.accounts.create({ name: 'shared', createdAt: new Date() });
    for (const store of stores) expect(await store.accounts.get(account.id)).toMatchObject({ name: 'shared' });
  });

  it('migratePostgres migrates a new schema from 0 and then finds nothing to do', async () => {
    const schema = fixture.location();
    expect(await migratePostgres({ connectionString: server.url, schema })).toEqual({ from: 0, to: latest });
    expect(await migratePostgres({ connectionString: server.url, schema })).toEqual({ from: latest, to: latest });
    expect(await versions(schema)).toEqual(everyVersion);
    // A store that must not migrate starts on a migrated schema.
    const store = await fixture.open(schema, { migrate: false, listen: false });
    await store.ping();
  });

  it("a store's migrate() (ferry migrate) reports the step its start-up made, then nothing more to do", async () => {
    const schema = fixture.location();
    const store = await fixture.open(schema, { listen: false });
    expect(await store.migrate()).toEqual({ from: 0, to: latest });
    const again = await fixture.open(schema, { listen: false });
    expect(await again.migrate()).toEqual({ from: latest, to: latest });
  });

  it('with migrate: false a store refuses an unmigrated schema and says to run ferry migrate', async () => {
    const schema = fixture.location();
    const error = await PostgresJobStore.open({ connectionString: server.url, schema, migrate: false, listen: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('ferry migrate') });
  });

  it('a schema newer than the code (a rolled-back deploy) fails start-up with one clear line, migrating or not', async () => {
    const schema = fixture.location();
    await migratePostgres({ connectionString: server.url, schema });
    await admin.query(`INSERT INTO "${schema}".ferry_migrations (version) VALUES ($1)`, [latest + 1]);
    for (const migrate of [true, false]) {
      const error = await PostgresJobStore.open({ connectionString: server.url, schema, migrate, listen: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FerryError);
      expect((error as FerryError).code).toBe('UNSUPPORTED');
      expect((error as FerryError).message).toContain(`is at version ${latest + 1}, newer than this Ferry knows (${latest})`);
      expect((error as FerryError).message).not.toContain('\n');
    }
    await expect(migratePostgres({ connectionString: server.url, schema })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    // Nothing was applied or removed.
    expect(await versions(schema)).toEqual([...everyVersion, latest + 1]);
  });

  it('a migrate() that fails closes its connection instead of pooling it; one that succeeds pools it', async () => {
    const schema = fixture.location();
    const store = await fixture.open(schema, { listen: false, poolSize: 1 });
    // Start-up migrated on the pool's one connection and pooled it; so does a migrate() with nothing to do.
    const first = await poolBackends(admin, schema);
    expect(first).toHaveLength(1);
    expect(await store.migrate()).toEqual({ from: 0, to: latest });
    await store.ping();
    expect(await poolBackends(admin, schema)).toEqual(first);
    // A newer release migrated the schema: this one's migrate() fails on that connection.
    await admin.query(`INSERT INTO "${schema}".ferry_migrations (version) VALUES ($1)`, [latest + 1]);
    await expect(store.migrate()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    // The next call needed a new connection: the failed call's was closed, not handed on.
    await store.ping();
    expect((await poolBackends(admin, schema)).filter((pid) => !first.includes(pid))).toHaveLength(1);
  });

  it('two schemas in one database keep their own rows', async () => {
    const [one, two] = [fixture.location(), fixture.location()];
    const [a, b] = [await fixture.open(one, { listen: false }), await fixture.open(two, { listen: false })];
    const account = await a.accounts.create({ name: 'only in one', createdAt: new Date() });
    await a.exports.insert({
      id: '6f1c2a8e-0000-4000-8000-00000000000a',
      accountId: account.id,
      name: 'n',
      format: 'csv',
      compression: 'gzip',
      webhookUrl: 'https://hooks.example.com/ferry',
      endpointId: 'ep_x',
      datasetKey: 'rentals',
      query: {},
      hmacSignature: 'a'.repeat(64),
      requestedAt: new Date(),
      notifyOnFailure: false,
      split: null,
    });
    await a.settings.put('instance', 'one');
    expect(await b.accounts.list()).toEqual([]);
    expect(await b.exports.get('6f1c2a8e-0000-4000-8000-00000000000a')).toBeNull();
    expect(await b.exports.claim('w', { limit: 10, leaseMs: 60_000, maxRunningPerAccount: 10 })).toEqual([]);
    expect(await b.settings.get('instance')).toBeNull();
    expect(await b.settings.putIfAbsent('instance', 'two')).toBe('two');
    expect(await a.settings.get('instance')).toBe('one');
    expect((await b.accounts.create({ name: null, createdAt: new Date() })).id).toBe(account.id);
    expect(await a.exports.claim('w', { limit: 10, leaseMs: 60_000, maxRunningPerAccount: 10 })).toHaveLength(1);
  });
});

describe('postgres job store options', () => {
  it('refuses schema names that are not plain lower-case identifiers', async () => {
    for (const schema of ['Ferry', 'ferry-jobs', 'a"b', 'pg_catalog', '1abc', 'x'.repeat(51), '']) {
      expect(() => new PostgresJobStore({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', schema, listen: false }), schema).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', path: ['schema'] }),
      );
    }
    expect(newSchemaName()).toMatch(/^[a-z_][a-z0-9_]*$/);
  });

  it('refuses a connection string that is not a postgres URL, without repeating it', async () => {
    const { PostgresJobsOptions } = await import('./options.js');
    const result = PostgresJobsOptions.safeParse({ connectionString: 'mysql://root:hunter2@127.0.0.1/db' });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error)).not.toContain('hunter2');
    expect(PostgresJobsOptions.parse({ connectionString: 'postgresql://u@127.0.0.1/db' })).toEqual({
      connectionString: 'postgresql://u@127.0.0.1/db',
      schema: 'ferry',
      poolSize: 10,
      listen: true,
      preparedStatements: true,
      migrate: true,
    });
    expect(PostgresJobsOptions.safeParse({ connectionString: 'postgres://u@127.0.0.1/db', extra: 1 }).success).toBe(false);
  });

  it('keeps the password out of the error when the server cannot be reached', async () => {
    // Port 1 on the loopback address: nothing listens there, so the connection is refused at once.
    const connectionString = 'postgres://ferry:s3cr3t-Pa55word@127.0.0.1:1/ferry';
    const error = await PostgresJobStore.open({ connectionString, listen: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect(error).toMatchObject({ code: 'TRANSIENT', retryable: true, plugin: 'jobs:postgres' });
    const everything = `${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
    expect(everything).not.toContain('s3cr3t-Pa55word');
  });
});
