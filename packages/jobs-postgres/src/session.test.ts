import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePostgres, requirePostgres } from '@ferry/testing/support';
import { Session, StatementNames, statementName, Tables, type StoreEnv } from './session.js';

const service = await requirePostgres();

describePostgres('postgres job store: how statements are sent', service, (server) => {
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
  });

  afterAll(async () => {
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
});
