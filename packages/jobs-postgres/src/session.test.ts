import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePostgres, requirePostgres } from '@ferry/testing/support';
import { Session, StatementNames, statementName, Tables, type StoreEnv } from './session.js';
import { poolBackends, StoreFixture } from './test-support.js';

const service = await requirePostgres();

describePostgres('postgres job store: how statements are sent', service, (server) => {
  const fixture = new StoreFixture(server);
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
  });

  afterAll(async () => {
    await fixture.cleanup();
    await client?.end();
  });

  const sessionWith = (preparedStatements: boolean): Session => {
    const env: StoreEnv = { tables: new Tables('ferry'), now: Date.now, secrets: [], statements: new StatementNames(preparedStatements) };
    const session: Session = new Session(client, env, (fn) => fn(session), () => undefined);
    return session;
  };
  const prepared = async (): Promise<string[]> =>
    (await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name);

  it('with preparedStatements (the default) a statement is prepared once on the connection, then reused', async () => {
    await client.query('DEALLOCATE ALL');
    const session = sessionWith(true);
    const sql = 'SELECT $1::int + 1 AS n';
    expect((await session.one(sql, [1]))?.n).toBe(2);
    expect((await session.one(sql, [41]))?.n).toBe(42);
    expect(await prepared()).toEqual([statementName(sql)]);
  });

  it('without them nothing is left on the connection, as a transaction-pooling proxy needs', async () => {
    await client.query('DEALLOCATE ALL');
    const session = sessionWith(false);
    expect((await session.one('SELECT $1::int * 2 AS n', [21]))?.n).toBe(42);
    expect(await prepared()).toEqual([]);
  });

  it('names a statement by its text alone: the same in every process, different for different SQL', () => {
    expect(statementName('SELECT 1')).toBe(statementName('SELECT 1'));
    expect(statementName('SELECT 1')).not.toBe(statementName('SELECT 2'));
    expect(statementName('SELECT 1')).toMatch(/^ferry_[0-9a-f]{24}$/);
  });

  it('after a migration changes what a prepared SELECT * returns, the statement is prepared again instead of failing on that connection', async () => {
    await client.query('DEALLOCATE ALL');
    const table = `ferry_stmt_${process.pid}`;
    await client.query(`CREATE TEMP TABLE ${table} (id int)`);
    await client.query(`INSERT INTO ${table} VALUES (1)`);
    const session = sessionWith(true);
    const sql = `SELECT * FROM ${table}`;
    expect(await session.rows(sql)).toEqual([{ id: 1 }]);
    // What a newer process's migration does during a rolling upgrade.
    await client.query(`ALTER TABLE ${table} ADD COLUMN note text`);
    expect(await session.rows(sql)).toEqual([{ id: 1, note: null }]);
    expect(await session.rows(sql)).toEqual([{ id: 1, note: null }]);
  });

  it('inside a transaction the same change fails as TRANSIENT (the transaction is aborted), and the retry succeeds', async () => {
    await client.query('DEALLOCATE ALL');
    const table = `ferry_stmt_tx_${process.pid}`;
    await client.query(`CREATE TEMP TABLE ${table} (id int)`);
    const env: StoreEnv = { tables: new Tables('ferry'), now: Date.now, secrets: [], statements: new StatementNames(true) };
    const inTx: Session = new Session(client, env, (fn) => fn(inTx), () => undefined, true);
    const sql = `SELECT * FROM ${table}`;
    expect(await inTx.rows(sql)).toEqual([]);
    await client.query(`ALTER TABLE ${table} ADD COLUMN note text`);
    await client.query('BEGIN');
    await expect(inTx.rows(sql)).rejects.toMatchObject({ code: 'TRANSIENT' });
    await client.query('ROLLBACK');
    expect(await inTx.rows(sql)).toEqual([]);
  });

  it('no other error renews the names: a feature_not_supported, or the same words under another SQLSTATE, fails as it is', async () => {
    await client.query('DEALLOCATE ALL');
    const env: StoreEnv = { tables: new Tables('ferry'), now: Date.now, secrets: [], statements: new StatementNames(true) };
    // In a transaction a renewal would show as TRANSIENT (outside one, as a retry of the same error).
    const inTx: Session = new Session(client, env, (fn) => fn(inTx), () => undefined, true);
    const sql = 'SELECT $1::int - 1 AS n';
    expect((await inTx.one(sql, [1]))?.n).toBe(0);
    await expect(inTx.rows('SELECT count(*) FROM pg_class FOR UPDATE')).rejects.toMatchObject({ code: 'INTERNAL' });
    const raise = "DO $$BEGIN RAISE EXCEPTION 'cached plan must not change result type'; END$$";
    await expect(inTx.run(raise)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect((await inTx.one(sql, [2]))?.n).toBe(1);
    // Still the first generation's names: nothing was prepared again.
    expect(await prepared()).toEqual([statementName(sql), statementName(raise)].sort());
  });

  it('after a migration adds a column under a store, a pooled connection that held the old SELECT * prepares it again instead of failing', async () => {
    const store = await fixture.open(fixture.location(), { listen: false, poolSize: 2 });
    const account = await store.accounts.create({ name: 'tenant', createdAt: new Date('2026-01-05T12:00:00Z') });
    // Two reads at once: each of the pool's two connections prepares the statement.
    expect(await Promise.all([store.accounts.get(account.id), store.accounts.get(account.id)])).toEqual([account, account]);
    const before = await poolBackends(client, store.schema);
    expect(before).toHaveLength(2);
    // A newer process's migration, during a rolling upgrade.
    await client.query(`ALTER TABLE "${store.schema}".accounts ADD COLUMN region text`);
    // The first read fails on one connection (the pool closes it) and is retried under a new name on
    // the other, which holds the old one: it must not fail there too, or the pool opens a connection.
    expect(await store.accounts.get(account.id)).toEqual(account);
    expect(before).toEqual(expect.arrayContaining(await poolBackends(client, store.schema)));
  });

  it('inside a store transaction the change fails as TRANSIENT once; the retry succeeds on the same pooled connection', async () => {
    const store = await fixture.open(fixture.location(), { listen: false, poolSize: 1 });
    const account = await store.accounts.create({ name: 'tenant', createdAt: new Date('2026-01-05T12:00:00Z') });
    const read = () => store.transaction((tx) => tx.accounts.get(account.id));
    expect(await read()).toEqual(account);
    const before = await poolBackends(client, store.schema);
    expect(before).toHaveLength(1);
    await client.query(`ALTER TABLE "${store.schema}".accounts ADD COLUMN region text`);
    await expect(read()).rejects.toMatchObject({ code: 'TRANSIENT' });
    // The connection still holds the statement under its old name: the retry prepares it afresh.
    expect(await read()).toEqual(account);
    expect(await poolBackends(client, store.schema)).toEqual(before);
  });

  // A server restart or failover mid-call: pg reports the dead connection as an 'error' event on a
  // checked-out client, which with no listener is thrown as an uncaught exception (vitest fails
  // the run on it; a worker process would crash).
  it('a connection killed inside a store transaction fails that call as TRANSIENT, crashes nothing, and the next call gets a new one', async () => {
    const store = await fixture.open(fixture.location(), { listen: false, poolSize: 1 });
    const account = await store.accounts.create({ name: 'tenant', createdAt: new Date('2026-01-05T12:00:00Z') });
    const [pid] = await poolBackends(client, store.schema);
    const killed = store.transaction(async (tx) => {
      await client.query('SELECT pg_terminate_backend($1)', [pid]);
      return tx.accounts.get(account.id);
    });
    await expect(killed).rejects.toMatchObject({ code: 'TRANSIENT' });
    expect(await store.transaction((tx) => tx.accounts.get(account.id))).toEqual(account);
    const [now] = await poolBackends(client, store.schema);
    expect(now).not.toBe(pid);
  });
});
