import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { startFerry, type FerryRuntime } from './runtime.js';

const ADMIN = 'versions-admin-token-0123456789';
import { defineConfig, type FerryConfig } from './config.js';
import { waitFor } from '@ferry/testing';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const KEY = 'versions-tests-key';
type Row = { id: number; name: string | null; amount: number | null; quote_safe: boolean | null; trade: string | null; updated_on: string | null };

let dir: string;
let sourceFile: string;
let ferry: FerryRuntime | undefined;
let rx: ScriptedReceiver;

const COLUMNS = [
  { name: 'id', type: 'integer', role: 'dimension' },
  { name: 'name', type: 'string', role: 'dimension' },
  { name: 'amount', type: 'double', role: 'measure' },
  { name: 'quote_safe', type: 'boolean', role: 'dimension' },
  { name: 'trade', type: 'string', role: 'dimension' },
  { name: 'updated_on', type: 'date', role: 'time' },
] as const;

function config(): FerryConfig {
  return defineConfig({
    dataDir: join(dir, 'ferry'),
    server: { port: 0 },
    logLevel: 'silent',
    sampleDataset: false,
    notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
    sources: { default: { use: 'duckdb' }, fees: { use: 'duckdb', options: { path: sourceFile } } },
    datasets: [
      {
        key: 'fees',
        source: 'fees',
        relation: { table: 'fees' },
        columns: COLUMNS.map((c) => ({ ...c })),
        primaryKey: ['id'],
        versioning: {
          counters: {
            quote_safe_count: 'count(*) FILTER (WHERE quote_safe)',
            trade_category: 'CASE WHEN count(DISTINCT trade) = 1 THEN any_value(trade) END',
          },
        },
      },
      // The event test's own table: what it publishes does not depend on which tests ran before.
      { key: 'fees_events', source: 'fees', relation: { table: 'fees_events' }, columns: COLUMNS.map((c) => ({ ...c })), primaryKey: ['id'], versioning: { counters: { quote_safe_count: 'count(*) FILTER (WHERE quote_safe)', trade_category: 'CASE WHEN count(DISTINCT trade) = 1 THEN any_value(trade) END' } } },
      { key: 'fees_short', source: 'fees', relation: { table: 'fees' }, columns: COLUMNS.map((c) => ({ ...c })), primaryKey: ['id'], versioning: { retainVersions: 2 } },
      { key: 'no_key', source: 'fees', relation: { table: 'fees' }, columns: COLUMNS.map((c) => ({ ...c })) },
    ],
    deliveries: { timeoutMs: 2_000 },
  });
}

async function start(): Promise<FerryRuntime> {
  ferry = await startFerry(config(), KEY, { deliveryWorker: { pollMs: 50 }, adminToken: ADMIN });
  return ferry;
}

async function stop(): Promise<void> {
  await ferry?.stop();
  ferry = undefined;
}

/**
 * Change the source table. Ferry's DuckDB source holds the database file open, and DuckDB does
 * not share a file between instances, so the writer runs while Ferry is stopped (a restart, which
 * the versions must survive anyway). Returns the table afterwards, the truth the consumers must reach.
 */
async function mutate(statements: string[]): Promise<Row[]> {
  const running = ferry !== undefined;
  if (running) await stop();
  const db = await DuckDBInstance.create(sourceFile);
  const c = await db.connect();
  for (const sql of statements) await c.run(sql);
  const rows = (await c.runAndReadAll('SELECT id, name, amount, quote_safe, trade, CAST(updated_on AS VARCHAR) AS updated_on FROM fees ORDER BY id')).getRowObjectsJS() as Row[];
  c.closeSync();
  db.closeSync();
  if (running) await start();
  return rows;
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: Headers; raw: Buffer }> {
  const url = path.startsWith('http') ? path : `${ferry!.url}${path}`;
  const res = await fetch(url, {
    method,
    // Publishing reaches every account: it takes the operator's token.
    headers: {
      'x-api-key': KEY,
      ...(method === 'POST' && path.endsWith('/versions') ? { authorization: `Bearer ${ADMIN}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const text = raw.toString('utf8');
  const json = res.headers.get('content-type')?.includes('application/json') && text ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: res.status, json, headers: res.headers, raw };
}

async function publish(key = 'fees'): Promise<Record<string, unknown>> {
  const res = await api('POST', `/datasets/${key}/versions`);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json;
}

const parseJsonl = <T>(raw: Buffer): T[] =>
  raw
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

/** A downstream table kept in sync through the API, as seed 002's sync guide has it. */
class Consumer {
  readonly rows = new Map<number, Row>();
  cursor = '';

  async seed(snapshotUrl?: string): Promise<void> {
    const res = await api('GET', snapshotUrl ? `${snapshotUrl}&format=jsonl` : '/sync/fees/snapshot?format=jsonl');
    expect(res.status).toBe(200);
    this.rows.clear();
    for (const row of parseJsonl<Row>(res.raw)) this.rows.set(row.id, row);
    this.cursor = res.headers.get('ferry-cursor')!;
  }

  /** Pull and apply everything since the held cursor; returns the ops applied. */
  async pull(): Promise<string[]> {
    const res = await api('GET', `/sync/fees/deltas?since=${this.cursor}`);
    expect(res.status, res.raw.toString()).toBe(200);
    const ops: string[] = [];
    for (const { op, ...row } of parseJsonl<Row & { op: string }>(res.raw)) {
      ops.push(`${op}:${row.id}`);
      if (op === 'delete') this.rows.delete(row.id);
      else this.rows.set(row.id, row);
    }
    this.cursor = res.headers.get('ferry-cursor')!;
    return ops;
  }

  table(): Row[] {
    return [...this.rows.values()].sort((a, b) => a.id - b.id);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-versions-'));
  sourceFile = join(dir, 'source.duckdb');
  rx = await startScriptedReceiver();
  await mutate([
    `CREATE TABLE fees (id INTEGER PRIMARY KEY, name VARCHAR, amount DOUBLE, quote_safe BOOLEAN, trade VARCHAR, updated_on DATE)`,
    `INSERT INTO fees SELECT i, 'fee ' || i, i * 1.25, i % 3 = 0, 'plumbing', DATE '2025-01-01' + i::INTEGER FROM range(1, 41) t(i)`,
    `CREATE TABLE fees_events AS SELECT * FROM fees`,
  ]);
  await start();
});

afterAll(async () => {
  await stop();
  await rx?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('publish and sync', () => {
  // One test, not two: the deltas checks read the four versions this consumer lives through (tests run in any order).
  it('a consumer seeded from the first snapshot and applying each delta, and one jumping from v1 to v4, both end with the source table; deltas in every format, `until` pins a step, compression only when asked', async () => {
    const v1 = await publish();
    expect(v1).toMatchObject({ dataset_key: 'fees', version_number: 1, previous_cursor: null, requires_snapshot: true, row_count: 40, changed_row_count: 40 });
    expect(v1).toMatchObject({ quote_safe_count: 13, trade_category: 'plumbing' });
    expect(v1.cursor).toMatch(/^cur_[A-Za-z0-9_-]{24}$/);

    const stepper = new Consumer();
    const jumper = new Consumer();
    await stepper.seed();
    await jumper.seed(v1.snapshot_url as string);
    expect(stepper.cursor).toBe(v1.cursor);
    let truth = await mutate([]);
    expect(stepper.table()).toEqual(truth);
    expect(await stepper.pull()).toEqual([]); // up to date: an empty delta, same cursor

    // v2: inserts, updates (one to NULL), deletes.
    truth = await mutate([
      `INSERT INTO fees VALUES (41, 'new', 1.5, true, 'plumbing', DATE '2025-03-01'), (42, 'newer', NULL, NULL, 'plumbing', NULL)`,
      `UPDATE fees SET amount = amount + 100 WHERE id IN (2, 4)`,
      `UPDATE fees SET name = NULL WHERE id = 6`,
      `DELETE FROM fees WHERE id IN (5, 7)`,
    ]);
    const v2 = await publish();
    expect(v2).toMatchObject({ version_number: 2, previous_cursor: v1.cursor, changed_row_count: 7, row_count: 40, requires_snapshot: false });
    expect(await stepper.pull()).toEqual(['delete:5', 'update:2', 'update:4', 'update:6', 'delete:7', 'insert:41', 'insert:42'].sort(byKey));
    expect(stepper.table()).toEqual(truth);

    // v3: key 5 was deleted and now comes back; 41 goes again; another trade (trade_category -> null).
    truth = await mutate([`INSERT INTO fees VALUES (5, 'back', 5.5, false, 'roofing', DATE '2025-04-01')`, `DELETE FROM fees WHERE id = 41`, `UPDATE fees SET quote_safe = true WHERE id = 1`]);
    const v3 = await publish();
    expect(v3).toMatchObject({ version_number: 3, changed_row_count: 3, row_count: 40, trade_category: null, quote_safe_count: 13 + 1 - 1 + 1 });
    expect(await stepper.pull()).toEqual(['update:1', 'insert:5', 'delete:41']);
    expect(stepper.table()).toEqual(truth);

    // v4: update the re-inserted key, delete one updated before, insert and delete in the same step.
    truth = await mutate([`UPDATE fees SET amount = 55 WHERE id = 5`, `DELETE FROM fees WHERE id = 2`, `INSERT INTO fees VALUES (43, 'x', 1, true, 'roofing', DATE '2025-05-01')`]);
    const v4 = await publish();
    expect(v4).toMatchObject({ version_number: 4, changed_row_count: 3, row_count: 40 });
    expect(await stepper.pull()).toEqual(['delete:2', 'update:5', 'insert:43']);
    expect(stepper.table()).toEqual(truth);
    expect(stepper.cursor).toBe(v4.cursor);

    // One call from v1 to v4: changes folded per key (41: insert+delete vanishes; 5: delete+insert+update is an update).
    const ops = await jumper.pull();
    expect(ops).toEqual(['delete:2', 'update:4', 'update:5', 'update:6', 'delete:7', 'update:1', 'insert:42', 'insert:43'].sort(byKey));
    expect(jumper.table()).toEqual(truth);
    expect(jumper.cursor).toBe(v4.cursor);

    // The latest snapshot is the table too, in Parquet as stored (read by DuckDB, an independent reader).
    const parquet = await api('GET', '/sync/fees/snapshot');
    expect(parquet.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(parquet.headers.get('ferry-version')).toBe('4');
    expect(await readParquet(parquet.raw, 'SELECT id, name FROM f ORDER BY id')).toEqual(truth.map((r) => [r.id, r.name]));

    const listed = await api('GET', '/datasets/fees/versions?limit=3');
    expect((listed.json.data as Array<{ version_number: number }>).map((v) => v.version_number)).toEqual([4, 3, 2]);
    expect(listed.json.hasMore).toBe(true);
    expect(((await api('GET', '/datasets/fees/versions?before=2')).json.data as Array<{ cursor: string }>).map((v) => v.cursor)).toEqual([v1.cursor]);

    // The deltas between those same four versions, in every format.
    const step = await api('GET', `/sync/fees/deltas?since=${v2!.cursor}&until=${v3!.cursor}&format=parquet`);
    expect(step.headers.get('ferry-cursor')).toBe(v3!.cursor);
    expect(step.headers.get('ferry-version')).toBe('3');
    expect(step.headers.get('ferry-row-count')).toBe('3');
    expect(await readParquet(step.raw, 'SELECT op, id FROM f ORDER BY id')).toEqual([['update', 1], ['insert', 5], ['delete', 41]]);
    const deleted = await readParquet(step.raw, 'SELECT * FROM f WHERE op = \'delete\'');
    expect(deleted).toEqual([['delete', 41, null, null, null, null, null]]);

    const csv = await api('GET', `/sync/fees/deltas?since=${v3!.cursor}&format=csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.raw.toString().split('\n')[0]).toBe('op,id,name,amount,quote_safe,trade,updated_on');
    const gz = await api('GET', `/sync/fees/deltas?since=${v3!.cursor}&format=jsonl&compression=gzip`);
    expect(gz.headers.get('content-type')).toBe('application/gzip');
    expect(parseJsonl<{ op: string }>(gunzipSync(gz.raw)).map((r) => r.op)).toEqual(['delete', 'update', 'insert']);
    const arrow = await api('GET', `/sync/fees/deltas?since=${v3!.cursor}&format=arrow`);
    expect(arrow.status).toBe(200);
    expect(arrow.headers.get('ferry-cursor')).toBe(v4!.cursor);

    expect((await api('GET', `/sync/fees/deltas?since=${v3!.cursor}&until=${v2!.cursor}`)).json.error).toMatchObject({ path: 'query.until' });
    expect((await api('GET', `/sync/fees/deltas?since=${v3!.cursor}&format=xml`)).json.error).toMatchObject({ code: 'VALIDATION_FAILED', path: 'query.format' });
    expect((await api('GET', `/sync/fees/deltas?since=${v3!.cursor}&format=parquet&compression=gzip`)).json.error).toMatchObject({ path: 'query.compression' });
    expect((await api('GET', `/sync/fees/deltas`)).json.error).toMatchObject({ path: 'query.since' });
  });

  it('answers an unknown cursor 404, a pruned one 410 saying to re-seed, a dataset without a primary key 400', async () => {
    const unknown = await api('GET', '/sync/fees/deltas?since=cur_neverissued');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'NOT_FOUND', path: 'query.since' });

    const first = await publish('fees_short');
    await publish('fees_short');
    await publish('fees_short'); // retainVersions 2: version 1 is pruned, but the deltas after it (2, 3) are kept
    expect((await api('GET', `/sync/fees_short/deltas?since=${first.cursor as string}`)).status).toBe(200);
    await publish('fees_short'); // now version 2's delta, a step after version 1, is pruned too
    const gone = await api('GET', `/sync/fees_short/deltas?since=${first.cursor as string}`);
    expect(gone.status).toBe(410);
    expect(gone.json.error).toMatchObject({ code: 'GONE', message: expect.stringMatching(/re-seed from a snapshot/) });
    expect((await api('GET', first.snapshot_url as string)).status).toBe(410);
    const listed = (await api('GET', '/datasets/fees_short/versions')).json.data as Array<{ version_number: number; pruned_at: string | null }>;
    expect(listed.map((v) => [v.version_number, v.pruned_at === null])).toEqual([[4, true], [3, true], [2, false], [1, false]]);
    const fresh = await api('GET', '/sync/fees_short/snapshot?format=csv');
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('ferry-version')).toBe('4');

    const noKey = await api('POST', '/datasets/no_key/versions');
    expect(noKey.status).toBe(400);
    expect(noKey.json.error).toMatchObject({ code: 'VALIDATION_FAILED', path: 'primaryKey' });
    expect((await api('POST', '/datasets/nope/versions')).status).toBe(404);
    expect((await fetch(`${ferry!.url}/sync/fees/snapshot`)).status).toBe(403);
  });
});

describe('dataset.version.published', () => {
  it('reaches a subscribed endpoint with exactly seed 002 fields, signed, and its URLs work as-is', async () => {
    const endpoint = await api('POST', '/webhooks/endpoints', { url: `${rx.url}/versions`, events: ['dataset.version.published'], scheme: 'standard-webhooks' });
    expect(endpoint.status).toBe(201);
    await publish('fees_events');
    await mutate([`UPDATE fees_events SET amount = 0 WHERE id = 3`]);
    const published = await publish('fees_events');
    const hit = await waitFor('dataset.version.published', () => rx.to('/versions').find((h) => h.body.includes(published.cursor as string)));
    const event = new Webhook(endpoint.json.secret as string).verify(hit.body, hit.headers as Record<string, string>) as {
      type: string;
      id: string;
      created: number;
      data: Record<string, unknown>;
    };
    expect(Object.keys(event)).toEqual(['type', 'id', 'created', 'data']);
    expect(event.type).toBe('dataset.version.published');
    expect(hit.headers['webhook-id']).toBe(event.id);
    expect(Object.keys(event.data)).toEqual([
      'dataset_key',
      'version_number',
      'cursor',
      'previous_cursor',
      'changed_row_count',
      'row_count',
      'quote_safe_count',
      'trade_category',
      'published_at',
      'pull_deltas_url',
      'snapshot_url',
      'requires_snapshot',
    ]);
    expect(event.data).toEqual({ ...published, pruned_at: undefined } as Record<string, unknown>);
    expect(event.data).toMatchObject({ changed_row_count: 1, requires_snapshot: false });
    expect(new Date(event.data.published_at as string).toISOString()).toBe(event.data.published_at);

    const delta = await api('GET', event.data.pull_deltas_url as string);
    expect(delta.status).toBe(200);
    expect(parseJsonl<{ op: string; id: number; amount: number }>(delta.raw)).toEqual([expect.objectContaining({ op: 'update', id: 3, amount: 0 })]);
    expect(delta.headers.get('ferry-cursor')).toBe(event.data.cursor);
    const snapshot = await api('GET', event.data.snapshot_url as string);
    expect(snapshot.status).toBe(200);
    expect(snapshot.headers.get('ferry-row-count')).toBe(String(event.data.row_count));
  });
});

describe('saved export schedules (API)', () => {
  it('creates, lists, gets and deletes; bad cron and bad queries are 400s with a path', async () => {
    const body = { dataset: { from: 'fees', scopes: [{ column: 'id' }], limit: 5 }, format: 'csv', webhookURL: `${rx.url}/scheduled`, name: 'every hour', cron: '0 * * * *' };
    const created = await api('POST', '/exports/schedules', body);
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({ id: expect.stringMatching(/^sch_/), cron: '0 * * * *', dataset: 'fees', request: { name: 'every hour', format: 'csv' } });
    expect(new Date(created.json.nextRunAt as string).getUTCMinutes()).toBe(0);
    expect(((await api('GET', '/exports/schedules')).json.data as Array<{ id: string }>).map((s) => s.id)).toContain(created.json.id);
    expect((await api('GET', `/exports/schedules/${created.json.id as string}`)).json.id).toBe(created.json.id);
    expect((await api('POST', '/exports/schedules', { ...body, cron: '61 * * * *' })).json.error).toMatchObject({ path: 'cron' });
    expect((await api('POST', '/exports/schedules', { ...body, dataset: { from: 'fees', scopes: [{ column: 'nope' }] } })).json.error).toMatchObject({
      path: 'dataset.scopes[0].column',
    });
    expect((await api('POST', '/exports/schedules', { ...body, webhookURL: 'https://10.0.0.1/x' })).json.error).toMatchObject({ path: 'webhookURL' });
    expect((await api('DELETE', `/exports/schedules/${created.json.id as string}`)).status).toBe(204);
    expect((await api('GET', `/exports/schedules/${created.json.id as string}`)).status).toBe(404);
  });
});

function byKey(a: string, b: string): number {
  return Number(a.split(':')[1]) - Number(b.split(':')[1]);
}

async function readParquet(bytes: Buffer, sql: string): Promise<unknown[][]> {
  const file = join(dir, `read-${Math.random().toString(36).slice(2)}.parquet`);
  await writeFile(file, bytes);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await c.run(`CREATE VIEW f AS SELECT * FROM read_parquet('${file}')`);
    return (await c.runAndReadAll(sql)).getRowsJS();
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
