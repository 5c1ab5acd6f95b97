import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig, type FerryConfig } from './config.js';
import { spawnFerry, type FerryProcess } from './test-support/processes.js';

const KEY = 'sync-tests-key-0123456789';
const ADMIN = 'sync-admin-token-0123456789';

let dir: string;
let sourceFile: string;
let ferry: FerryRuntime | undefined;

const FEES_COLUMNS = [
  { name: 'id', type: 'integer', role: 'dimension' },
  { name: 'name', type: 'string', role: 'dimension' },
  { name: 'price', type: 'decimal', role: 'measure' },
  { name: 'quote_safe', type: 'boolean', role: 'dimension' },
  { name: 'trade', type: 'string', role: 'dimension' },
  { name: 'updated_on', type: 'date', role: 'time' },
  { name: 'seen_at', type: 'timestamp', role: 'time' },
] as const;
const BIG_COLUMNS = [
  { name: 'region', type: 'string', role: 'dimension' },
  { name: 'id', type: 'integer', role: 'dimension' },
  { name: 'amount', type: 'double', role: 'measure' },
  { name: 'label', type: 'string', role: 'dimension' },
] as const;
const BIG_ROWS = 400_000;

function config(): FerryConfig {
  return defineConfig({
    dataDir: join(dir, 'ferry'),
    server: { port: 0 },
    logLevel: 'silent',
    sampleDataset: false,
    sources: { default: { use: 'duckdb' }, src: { use: 'duckdb', options: { path: sourceFile } } },
    datasets: [
      { key: 'fees', source: 'src', relation: { table: 'fees' }, columns: FEES_COLUMNS.map((c) => ({ ...c })), primaryKey: ['id'], versioning: {} },
      {
        key: 'fees_short',
        source: 'src',
        relation: { table: 'fees' },
        columns: FEES_COLUMNS.map((c) => ({ ...c })),
        primaryKey: ['id'],
        versioning: { retainVersions: 2 },
      },
      // A key of two columns, and enough rows that applying a snapshot or a delta takes a while.
      { key: 'big', source: 'src', relation: { table: 'big' }, columns: BIG_COLUMNS.map((c) => ({ ...c })), primaryKey: ['region', 'id'], versioning: {} },
      { key: 'no_key', source: 'src', relation: { table: 'fees' }, columns: FEES_COLUMNS.map((c) => ({ ...c })) },
    ],
  });
}

async function start(): Promise<FerryRuntime> {
  ferry = await startFerry(config(), KEY, { adminToken: ADMIN });
  return ferry;
}

async function stop(): Promise<void> {
  await ferry?.stop();
  ferry = undefined;
}

type Table = { types: string[][]; rows: unknown[][] };

/** A table as DuckDB reads it from a file: its column types, and every row as text (exact for decimals and times), ordered by key. */
async function readTable(file: string, table: string, orderBy: string): Promise<Table> {
  const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const c = await db.connect();
  try {
    const types = (
      await c.runAndReadAll(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`)
    ).getRowsJS() as string[][];
    const rows = (await c.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM "${table}" ORDER BY ${orderBy}`)).getRowsJS();
    return { types, rows };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/**
 * Change the source tables and return them afterwards, read by DuckDB straight from the source
 * file: the truth the synced copies must equal. Ferry's DuckDB source holds the file open and
 * DuckDB does not share a file between instances, so the writer runs while Ferry is stopped.
 */
async function mutate(statements: string[]): Promise<{ fees: Table; big: Table }> {
  const running = ferry !== undefined;
  if (running) await stop();
  const db = await DuckDBInstance.create(sourceFile);
  const c = await db.connect();
  for (const sql of statements) await c.run(sql);
  c.closeSync();
  db.closeSync();
  const truth = { fees: await readTable(sourceFile, 'fees', 'id'), big: await readTable(sourceFile, 'big', 'region, id') };
  if (running) await start();
  return truth;
}

/** What a synced file holds: the table, and the position stored with it (null when never seeded). */
async function synced(file: string, table: string, orderBy: string): Promise<Table & { position: { cursor: string; version: number } | null }> {
  const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const c = await db.connect();
  let position: { cursor: string; version: number } | null = null;
  let exists = false;
  try {
    exists = (await c.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = '${table}'`)).getRowsJS()[0]![0] === 1n;
    const state = (await c.runAndReadAll(`SELECT cursor, version_number FROM _ferry_sync WHERE table_name = '${table}'`).catch(() => null))?.getRowsJS()[0];
    if (state) position = { cursor: String(state[0]), version: Number(state[1]) };
  } finally {
    c.closeSync();
    db.closeSync();
  }
  if (!exists) return { types: [], rows: [], position };
  return { ...(await readTable(file, table, orderBy)), position };
}

async function publish(dataset: string): Promise<{ cursor: string; version_number: number }> {
  const res = await fetch(`${ferry!.url}/datasets/${dataset}/versions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  const body = (await res.json()) as { cursor: string; version_number: number };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

interface Run {
  code: number | null;
  out: string;
  stdout: string;
}

function syncProcess(args: string[]): FerryProcess & { stdout: () => string } {
  const p = spawnFerry(['sync', ...args], { FERRY_URL: ferry!.url!, FERRY_API_KEY: KEY });
  let stdout = '';
  p.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  return { ...p, stdout: () => stdout };
}

/** `ferry sync <args>` as a real process, to the end. */
async function sync(args: string[]): Promise<Run> {
  const p = syncProcess(args);
  const code = await p.exited;
  return { code, out: p.output(), stdout: p.stdout() };
}

type SyncJson = { position: { cursor: string; version: number }; rows: number; seeded: string | null; applied: { insert: number; update: number; delete: number } };

async function syncJson(args: string[]): Promise<SyncJson> {
  const run = await sync([...args, '--json']);
  expect(run.code, run.out).toBe(0);
  return JSON.parse(run.stdout) as SyncJson;
}

/** Run a sync and SIGKILL it the moment it says it is applying `what`: inside the transaction that writes the rows. */
async function killWhileApplying(args: string[], what: 'snapshot' | 'delta'): Promise<string> {
  const p = syncProcess(args);
  const pattern = new RegExp(`applying ${what} `);
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (pattern.test(p.output())) {
        p.child.kill('SIGKILL');
        resolve();
      }
    };
    p.child.stderr!.on('data', check);
    void p.exited.then(() => reject(new Error(`ferry sync ended before applying the ${what}: ${p.output()}`)));
  });
  expect(await p.exited).toBeNull(); // killed, not exited
  return p.output();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-sync-'));
  sourceFile = join(dir, 'source.duckdb');
  await mutate([
    `CREATE TABLE fees (id INTEGER PRIMARY KEY, name VARCHAR, price DECIMAL(12,2), quote_safe BOOLEAN, trade VARCHAR, updated_on DATE, seen_at TIMESTAMP)`,
    `INSERT INTO fees SELECT i, 'fee ' || i, i * 1.25, i % 3 = 0, 'plumbing', DATE '2025-01-01' + i::INTEGER, TIMESTAMP '2025-01-01 08:00:00.123456' + to_minutes(i::BIGINT) FROM range(1, 61) t(i)`,
    `CREATE TABLE big (region VARCHAR, id INTEGER, amount DOUBLE, label VARCHAR, PRIMARY KEY (region, id))`,
    `INSERT INTO big SELECT ['north', 'south', 'east', 'west'][1 + i % 4], i // 4, i / 7, 'row ' || i FROM range(${BIG_ROWS}) t(i)`,
  ]);
  await start();
});

afterAll(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ferry sync', () => {
  it('keeps a DuckDB file equal to the source table, row for row and type for type, across three published versions', async () => {
    const stepper = join(dir, 'stepper.duckdb'); // synced after every version
    const jumper = join(dir, 'jumper.duckdb'); // synced at v1, then straight to v3

    // v1, published with the CLI (the operator's token), listed with it too.
    const published = spawnFerry(['versions', 'publish', 'fees', '--json'], { FERRY_URL: ferry!.url!, FERRY_ADMIN_TOKEN: ADMIN });
    expect(await published.exited, published.output()).toBe(0);
    const v1 = JSON.parse(published.output()) as { cursor: string; version_number: number };
    expect(v1.version_number).toBe(1);
    const listed = spawnFerry(['versions', 'list', 'fees'], { FERRY_URL: ferry!.url!, FERRY_API_KEY: KEY });
    expect(await listed.exited).toBe(0);
    expect(listed.output()).toMatch(new RegExp(`^VERSION\\s+CURSOR\\s+CHANGED\\s+ROWS\\s+PUBLISHED\\s+PRUNED\\n1\\s+${v1.cursor}\\s+60\\s+60\\s`));

    let truth = (await mutate([])).fees;
    const first = await syncJson(['fees', '--into', stepper]);
    expect(first).toEqual({ dataset: 'fees', position: { dataset: 'fees', cursor: v1.cursor, version: 1 }, rows: 60, seeded: 'first run', applied: { insert: 0, update: 0, delete: 0 }, target: `table fees in ${stepper}` });
    expect(await synced(stepper, 'fees', 'id')).toEqual({ ...truth, position: { cursor: v1.cursor, version: 1 } });
    expect((await syncJson(['fees', '--into', jumper])).position.version).toBe(1);

    // Nothing new: the same table, nothing applied, and it says so.
    const again = await sync(['fees', '--into', stepper]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/fees: table fees in .* is at version 1 .*60 rows; it was already up to date\.\n$/);
    expect(await synced(stepper, 'fees', 'id')).toEqual({ ...truth, position: { cursor: v1.cursor, version: 1 } });

    // v2: inserts, updates (one to NULL), deletes.
    truth = (
      await mutate([
        `INSERT INTO fees VALUES (61, 'new', 1.50, true, 'plumbing', DATE '2025-03-01', TIMESTAMP '2025-03-01 10:00:00'), (62, 'newer', NULL, NULL, 'plumbing', NULL, NULL)`,
        `UPDATE fees SET price = price + 100.01 WHERE id IN (2, 4)`,
        `UPDATE fees SET name = NULL WHERE id = 6`,
        `DELETE FROM fees WHERE id IN (5, 7)`,
      ])
    ).fees;
    const v2 = await publish('fees');
    expect(await syncJson(['fees', '--into', stepper])).toMatchObject({ position: { cursor: v2.cursor, version: 2 }, rows: 60, seeded: null, applied: { insert: 2, update: 3, delete: 2 } });
    expect(await synced(stepper, 'fees', 'id')).toEqual({ ...truth, position: { cursor: v2.cursor, version: 2 } });

    // v3: a deleted key comes back, a new one goes again, an update.
    truth = (
      await mutate([
        `INSERT INTO fees VALUES (5, 'back', 5.55, false, 'roofing', DATE '2025-04-01', TIMESTAMP '2025-04-01 00:00:00.000001')`,
        `DELETE FROM fees WHERE id = 61`,
        `UPDATE fees SET quote_safe = true, seen_at = NULL WHERE id = 1`,
      ])
    ).fees;
    const v3 = await publish('fees');
    expect(await syncJson(['fees', '--into', stepper])).toMatchObject({ position: { cursor: v3.cursor, version: 3 }, applied: { insert: 1, update: 1, delete: 1 } });
    expect(await synced(stepper, 'fees', 'id')).toEqual({ ...truth, position: { cursor: v3.cursor, version: 3 } });

    // From v1 to v3 in one coalesced delta (61 came and went: nothing to do for it).
    expect(await syncJson(['fees', '--into', jumper])).toMatchObject({ position: { cursor: v3.cursor, version: 3 }, applied: { insert: 1, update: 5, delete: 1 } });
    expect(await synced(jumper, 'fees', 'id')).toEqual({ ...truth, position: { cursor: v3.cursor, version: 3 } });
  }, 240_000);

  it('finishes the job when rerun after being killed while applying a snapshot, then a delta; never a cursor out of step with its rows', async () => {
    const file = join(dir, 'killed.duckdb');
    const before = (await mutate([])).big;
    const v1 = await publish('big');

    const killedSnapshot = await killWhileApplying(['big', '--into', file], 'snapshot');
    expect(killedSnapshot).toContain(`applying snapshot v1 (${BIG_ROWS.toLocaleString('en-US')} rows)`);
    // Killed mid-transaction, the file holds nothing of it; had the kill come after the commit, all of it.
    const afterKill = await synced(file, 'big', 'region, id');
    expect([{ types: [], rows: [], position: null }, { ...before, position: { cursor: v1.cursor, version: 1 } }]).toContainEqual(afterKill);

    expect(await syncJson(['big', '--into', file])).toMatchObject({ position: { cursor: v1.cursor, version: 1 }, rows: BIG_ROWS });
    expect(await synced(file, 'big', 'region, id')).toEqual({ ...before, position: { cursor: v1.cursor, version: 1 } });

    // A delta touching every row: most updated, some deleted, some new.
    const after = (
      await mutate([
        `UPDATE big SET amount = amount + 1, label = label || ' v2'`,
        `DELETE FROM big WHERE id % 10 = 3`,
        `INSERT INTO big SELECT 'central', i, -i, 'new ' || i FROM range(20000) t(i)`,
      ])
    ).big;
    const v2 = await publish('big');
    const killedDelta = await killWhileApplying(['big', '--into', file], 'delta');
    expect(killedDelta).toMatch(/applying delta v1 -> v2 \([\d,]+ rows\)/);
    const midway = await synced(file, 'big', 'region, id');
    expect([
      { ...before, position: { cursor: v1.cursor, version: 1 } },
      { ...after, position: { cursor: v2.cursor, version: 2 } },
    ]).toContainEqual(midway);

    const resumed = await syncJson(['big', '--into', file]);
    expect(resumed).toMatchObject({ position: { cursor: v2.cursor, version: 2 }, rows: after.rows.length, seeded: null });
    expect(await synced(file, 'big', 'region, id')).toEqual({ ...after, position: { cursor: v2.cursor, version: 2 } });
    // The killed runs' downloads are gone too.
    expect((await readdir(dir)).filter((n) => n.includes('ferry-sync'))).toEqual([]);
  }, 300_000);

  it('re-seeds from the latest snapshot when its cursor was pruned', async () => {
    const file = join(dir, 'pruned.duckdb');
    await publish('fees_short');
    expect((await syncJson(['fees_short', '--into', file, '--table', 'fees_copy'])).position.version).toBe(1);
    const truth = (await mutate([`UPDATE fees SET name = 'renamed' WHERE id = 3`])).fees;
    await publish('fees_short');
    await publish('fees_short');
    // retainVersions 2: versions 1 and 2 are pruned now, so the changes after version 1 (version 2's delta) are gone.
    const v4 = await publish('fees_short');

    const run = await sync(['fees_short', '--into', file, '--table', 'fees_copy', '--json']);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/fees_short: cursor cur_\S+ \(v1\) was pruned on the server; re-seeding/);
    expect(JSON.parse(run.stdout)).toMatchObject({ position: { cursor: v4.cursor, version: 4 }, seeded: 'cursor pruned' });
    expect(await synced(file, 'fees_copy', 'id')).toEqual({ ...truth, position: { cursor: v4.cursor, version: 4 } });
  }, 180_000);

  it('refuses, in one line and with exit code 1, a dataset that has no primary key; without --into it is a usage error', async () => {
    const noKey = await sync(['no_key', '--into', join(dir, 'nokey.duckdb')]);
    expect(noKey.code).toBe(1);
    expect(noKey.out.trim()).toBe('ferry: VALIDATION_FAILED: dataset no_key has no primary key, so it is not versioned and cannot be synced');
    const usage = await sync(['fees']);
    expect(usage.code).toBe(2);
    expect(usage.out).toContain("required option '--into <file>' not specified");
  });
});
