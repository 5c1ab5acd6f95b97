import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DatasetDefinition,
  FerryError,
  collectBytes,
  createCatalog,
  type DatasetVersion,
  type FormatWriter,
  type JobStore,
  type ObjectStore,
  type SnapshotEngine,
} from '@ferry/core';
import { csvFormat, csvOptionsSchema } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { ParquetWriter, parquetOptionsSchema } from '@ferry/format-parquet';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { DuckDBSnapshotEngine, readParquetFile } from '@ferry/snapshots-duckdb';
import { DuckDBSource, DuckDBSourceOptions } from '@ferry/source-duckdb';
import { LocalStore } from '@ferry/store-local';
import { sampleVersion } from '@ferry/testing/jobs';
import { Scratch, scratchRoot } from './files.js';
import { VersionPublisher, newCursor, type VersionDeps } from './publisher.js';
import { SyncService, type SyncResponse } from './sync-service.js';
import { VERSION_PUBLISHED, versionEvent, versionFields } from './version-view.js';
import { recordingLogger, type LogLine } from '../test-support/log-lines.js';

/*
 * The promises of docs/versions.md at the engine's level: a publish materializes the dataset,
 * diffs it by primary key, stores both files and records the version with one event per account;
 * the sync API answers versions, deltas and snapshots from what was stored. Real parts throughout:
 * a DuckDB source over a CSV file the test rewrites, the DuckDB snapshot engine, a SQLite job
 * store and a local object store, all under the test's own temp dir.
 */

const BASE_URL = 'https://ferry.example.com/';
const PARQUET = 'application/vnd.apache.parquet';

type Row = [id: number, name: string, amount: number, quoteSafe: boolean];

let dir: string;
let csv: string;
let jobs: JobStore;
let store: LocalStore;
let source: DuckDBSource;
let snapshots: DuckDBSnapshotEngine;
let formats: Map<string, FormatWriter>;
let lines: LogLine[];
let poked: number;

const logger = recordingLogger((line) => lines.push(line));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-versions-test-'));
  csv = join(dir, 'fees.csv');
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  store = new LocalStore({ root: join(dir, 'files') });
  source = await DuckDBSource.create(DuckDBSourceOptions.parse({ threads: 1 }), { dataDir: dir });
  snapshots = await DuckDBSnapshotEngine.create({ threads: 1 });
  const ctx = { logger, dataDir: dir };
  formats = new Map<string, FormatWriter>([
    ['parquet', new ParquetWriter(parquetOptionsSchema.parse({}))],
    ['csv', await csvFormat.create(csvOptionsSchema.parse({}), ctx)],
    ['jsonl', await jsonlFormat.create({}, ctx)],
  ]);
  lines = [];
  poked = 0;
});

afterEach(async () => {
  await source.close();
  await snapshots.close();
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

/** Replace the source table: the DuckDB source reads the CSV file afresh on every publish. */
async function table(rows: Row[]): Promise<void> {
  await writeFile(csv, ['id,name,amount,quote_safe', ...rows.map((r) => r.join(','))].join('\n') + '\n');
}

function dataset(overrides: Record<string, unknown> = {}): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'fees',
    source: 'fees',
    relation: { file: csv },
    columns: [
      { name: 'id', type: 'integer', role: 'dimension' },
      { name: 'name', type: 'string', role: 'dimension' },
      { name: 'amount', type: 'double', role: 'measure' },
      { name: 'quote_safe', type: 'boolean', role: 'dimension' },
    ],
    primaryKey: ['id'],
    versioning: { counters: { quote_safe_count: 'count(*) FILTER (WHERE quote_safe)', top_amount: 'max(amount)' } },
    ...overrides,
  });
}

const tmp = () => join(dir, 'tmp');

function deps(datasets: DatasetDefinition[] = [dataset()], extra: Partial<VersionDeps> = {}): VersionDeps {
  return {
    jobs,
    catalog: createCatalog(datasets),
    sources: new Map([['fees', source]]),
    formats,
    store,
    logger,
    snapshots,
    publicUrl: () => BASE_URL,
    tmpDir: tmp(),
    onPublished: () => {
      poked++;
    },
    ...extra,
  };
}

const publisher = (d: VersionDeps = deps()) => new VersionPublisher(d);
const sync = (d: VersionDeps = deps()) => new SyncService(d, new VersionPublisher(d));

async function failure(p: Promise<unknown> | (() => unknown)): Promise<FerryError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

const exists = (key: string, s: ObjectStore = store) =>
  s.get(key).then(
    async (o) => {
      await collectBytes(o.body);
      return true;
    },
    () => false,
  );

/** Work directories a publish or response left in its scratch root. */
async function leftovers(): Promise<string[]> {
  const root = await scratchRoot(tmp());
  return (await readdir(root.path).catch(() => [] as string[])).filter((n) => n.startsWith('op-'));
}

/** A Parquet file's rows, as plain arrays in column order. */
async function parquetRows(bytes: Buffer): Promise<unknown[][]> {
  const file = join(dir, `read-${Math.random().toString(36).slice(2)}.parquet`);
  await writeFile(file, bytes);
  const stream = await readParquetFile(file, { signal: new AbortController().signal });
  const rows: unknown[][] = [];
  for await (const batch of stream.batches) for (const row of batch.toArray()) rows.push(Object.values(row.toJSON()).map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  return rows;
}

/** A field of a version's public view (its counters make it an open record). */
const field = (view: object, name: string): unknown => (view as Record<string, unknown>)[name];

async function body(res: SyncResponse): Promise<Buffer> {
  return Buffer.from(await collectBytes(res.body));
}

const jsonl = (bytes: Buffer) =>
  bytes
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const V1: Row[] = [
  [1, 'alpha', 1.5, true],
  [2, 'beta', 2.5, false],
  [3, 'gamma', 3.5, true],
];
/** From V1: 2 updated, 3 deleted, 4 inserted; 1 unchanged. */
const V2: Row[] = [
  [1, 'alpha', 1.5, true],
  [2, 'BETA', 20, true],
  [4, 'delta', 4.5, false],
];

describe('VersionPublisher', () => {
  it('publishes a first version: every row changed, no previous cursor, files stored under the number and cursor, counters evaluated', async () => {
    await table(V1);
    const v = await publisher().publish('fees');
    expect(v.cursor).toMatch(/^cur_[A-Za-z0-9_-]{24}$/);
    expect(v).toEqual({
      datasetKey: 'fees',
      versionNumber: 1,
      cursor: v.cursor,
      previousCursor: null,
      changedRowCount: 3,
      rowCount: 3,
      counters: { quote_safe_count: 2, top_amount: 3.5 },
      publishedAt: v.publishedAt,
      snapshotKey: `versions/fees/00000001-${v.cursor}/snapshot.parquet`,
      deltaKey: `versions/fees/00000001-${v.cursor}/delta.parquet`,
      prunedAt: null,
    });
    expect(await jobs.versions.find('fees', { latest: true })).toEqual(v);
    const snapshot = await store.get(v.snapshotKey);
    expect(snapshot.contentType).toBe(PARQUET);
    expect(await parquetRows(Buffer.from(await collectBytes(snapshot.body)))).toEqual(V1);
    // A first version's delta has no rows: a consumer seeds from the snapshot.
    expect(await parquetRows(Buffer.from(await collectBytes((await store.get(v.deltaKey)).body)))).toEqual([]);
    expect(poked).toBe(1);
    expect(lines).toEqual([{ level: 'info', obj: { dataset: 'fees', version: 1, rows: 3, changed: 3 }, msg: 'dataset version published' }]);
    expect(await leftovers()).toEqual([]);
  });

  it('publishes the next version as the diff by primary key from the previous one, chained by cursor', async () => {
    await table(V1);
    const p = publisher();
    const v1 = await p.publish('fees');
    await table(V2);
    const v2 = await p.publish('fees');
    expect(v2).toMatchObject({ versionNumber: 2, previousCursor: v1.cursor, changedRowCount: 3, rowCount: 3, counters: { quote_safe_count: 2, top_amount: 20 } });
    expect(v2.cursor).not.toBe(v1.cursor);
    expect(v2.snapshotKey).toBe(`versions/fees/00000002-${v2.cursor}/snapshot.parquet`);
    const delta = await parquetRows(Buffer.from(await collectBytes((await store.get(v2.deltaKey)).body)));
    expect(delta).toEqual([
      ['update', 2, 'BETA', 20, true],
      ['delete', 3, null, null, null],
      ['insert', 4, 'delta', 4.5, false],
    ]);
    // An unchanged table still gets a version, with nothing changed.
    const v3 = await p.publish('fees');
    expect(v3).toMatchObject({ versionNumber: 3, previousCursor: v2.cursor, changedRowCount: 0, rowCount: 3 });
    expect(poked).toBe(3);
  });

  it('commits one dataset.version.published event per account with the version', async () => {
    const a = await jobs.accounts.create({ name: 'a', createdAt: new Date() });
    const b = await jobs.accounts.create({ name: 'b', createdAt: new Date() });
    await table(V1);
    const v = await publisher().publish('fees');
    for (const account of [a, b]) {
      const events = await jobs.events.list(account.id, { limit: 10 });
      expect(events.map((e) => e.type)).toEqual([VERSION_PUBLISHED]);
      expect(events[0]!.body).toBe(versionEvent(v, account.id, BASE_URL).body);
    }
  });

  it('runs publishes of one dataset one after the other, so both record a version', async () => {
    await table(V1);
    const p = publisher();
    const [x, y] = await Promise.all([p.publish('fees'), p.publish('fees')]);
    expect([x.versionNumber, y.versionNumber]).toEqual([1, 2]);
    expect(y.previousCursor).toBe(x.cursor);
  });

  it('keeps publishing after a failed publish of the same dataset, and stops at an aborted signal', async () => {
    await table(V1);
    const p = publisher();
    const abort = new AbortController();
    abort.abort(new FerryError('ABORTED', 'client went away'));
    const first = p.publish('fees', { signal: abort.signal });
    const second = p.publish('fees');
    await expect(first).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await second).toMatchObject({ versionNumber: 1, previousCursor: null });
    expect(await leftovers()).toEqual([]);
  });

  it('refuses an unknown dataset and one without a primary key', async () => {
    await table(V1);
    const p = publisher(deps([dataset(), dataset({ key: 'no_key', primaryKey: undefined }), dataset({ key: 'empty_key', primaryKey: [] })]));
    expect(await failure(p.publish('nope'))).toMatchObject({ code: 'NOT_FOUND', message: 'no dataset "nope"' });
    for (const key of ['no_key', 'empty_key']) {
      const err = await failure(p.publish(key));
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', path: ['primaryKey'] });
      expect(err.message).toBe(`dataset "${key}" has no primaryKey; versions and deltas need one (set primaryKey in its catalog definition)`);
    }
    expect(await jobs.versions.find('no_key', { latest: true })).toBeNull();
  });

  it('needs a configured Parquet writer, found by media type under any slot name, and the dataset’s source', async () => {
    await table(V1);
    const noParquet = await failure(publisher(deps([dataset()], { formats: new Map([['csv', formats.get('csv')!]]) })).publish('fees'));
    expect(noParquet).toMatchObject({ code: 'INVALID_CONFIG', path: ['formats'] });
    const noSource = await failure(publisher(deps([dataset()], { sources: new Map() })).publish('fees'));
    expect(noSource).toMatchObject({ code: 'INVALID_CONFIG', message: 'dataset "fees" names source "fees", which is not configured' });
    const renamed = await publisher(deps([dataset()], { formats: new Map([['columnar', formats.get('parquet')!]]) })).publish('fees');
    expect(renamed.versionNumber).toBe(1);
    expect(await leftovers()).toEqual([]);
  });

  it('publishes a dataset of exactly versioning.maxRows rows and refuses one row more, recording nothing', async () => {
    await table(V1);
    expect((await publisher(deps([dataset({ versioning: { maxRows: 3 } })])).publish('fees')).rowCount).toBe(3);
    const err = await failure(publisher(deps([dataset({ versioning: { maxRows: 2 } })])).publish('fees'));
    expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', path: ['versioning', 'maxRows'], message: 'dataset "fees" has more than 2 rows; raise versioning.maxRows to publish it' });
    expect((await jobs.versions.find('fees', { latest: true }))?.versionNumber).toBe(1);
  });

  it('falls back to the dataset’s limits.maxRows when versioning sets none', async () => {
    await table(V1);
    const err = await failure(publisher(deps([dataset({ versioning: {}, limits: { maxRows: 2 } })])).publish('fees'));
    expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', message: 'dataset "fees" has more than 2 rows; raise versioning.maxRows to publish it' });
    expect((await publisher(deps([dataset({ versioning: {}, limits: { maxRows: 3 } })])).publish('fees')).counters).toEqual({});
  });

  it('keeps the newest retainVersions versions, deleting the older ones’ files and marking them pruned, oldest first', async () => {
    await table(V1);
    const p = publisher(deps([dataset({ versioning: { retainVersions: 2 } })]));
    const v1 = await p.publish('fees');
    const v2 = await p.publish('fees');
    expect((await jobs.versions.find('fees', { versionNumber: 1 }))?.prunedAt).toBeNull();
    const v3 = await p.publish('fees');
    expect((await jobs.versions.find('fees', { versionNumber: 1 }))?.prunedAt).toBeInstanceOf(Date);
    expect((await jobs.versions.find('fees', { versionNumber: 2 }))?.prunedAt).toBeNull();
    expect([await exists(v1.snapshotKey), await exists(v1.deltaKey)]).toEqual([false, false]);
    expect([await exists(v2.snapshotKey), await exists(v2.deltaKey), await exists(v3.snapshotKey)]).toEqual([true, true, true]);
    await p.publish('fees');
    expect((await jobs.versions.find('fees', { versionNumber: 2 }))?.prunedAt).toBeInstanceOf(Date);
    expect((await jobs.versions.find('fees', { versionNumber: 3 }))?.prunedAt).toBeNull();
    expect(lines.filter((l) => l.msg === 'dataset version pruned').map((l) => l.obj)).toEqual([
      { dataset: 'fees', version: 1 },
      { dataset: 'fees', version: 2 },
    ]);
  });

  it('prunes every version past the window at once when retainVersions shrinks, leaving pruned ones alone', async () => {
    await table(V1);
    const all = publisher();
    for (let i = 0; i < 4; i++) await all.publish('fees');
    await publisher(deps([dataset({ versioning: { retainVersions: 1 } })])).publish('fees');
    const states = await jobs.versions.list('fees', { order: 'asc', limit: 10 });
    expect(states.map((v) => v.prunedAt !== null)).toEqual([true, true, true, true, false]);
    expect(lines.filter((l) => l.msg === 'dataset version pruned').map((l) => (l.obj as { version: number }).version)).toEqual([1, 2, 3, 4]);
  });

  it('loses cleanly to a publish of another process that recorded the same number first: TRANSIENT, its files removed, no event', async () => {
    const account = await jobs.accounts.create({ name: 'a', createdAt: new Date() });
    await table(V1);
    let rival: string | undefined;
    // The race cannot be timed for real: the rival's commit is made to land while this publish diffs.
    const racing: SnapshotEngine = {
      diff: async (...args) => {
        rival = newCursor();
        expect(await jobs.versions.insert(sampleVersion(1, rival, null))).toBe(true);
        return snapshots.diff(...args);
      },
      coalesce: (...args) => snapshots.coalesce(...args),
      empty: (...args) => snapshots.empty(...args),
      counters: (...args) => snapshots.counters(...args),
      read: (...args) => snapshots.read(...args),
      close: () => snapshots.close(),
    };
    const err = await failure(publisher(deps([dataset()], { snapshots: racing })).publish('fees'));
    expect(err).toMatchObject({ code: 'TRANSIENT', message: 'another publish of "fees" recorded version 1 first; publish again' });
    expect((await jobs.versions.find('fees', { latest: true }))?.cursor).toBe(rival);
    const files = join(dir, 'files', 'versions', 'fees');
    expect(await readdir(files).catch(() => [])).toEqual([]);
    expect(await jobs.events.list(account.id, { limit: 10 })).toEqual([]);
    expect(poked).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it('answers GONE when the previous snapshot was deleted from the store', async () => {
    await table(V1);
    const p = publisher();
    const v1 = await p.publish('fees');
    await store.delete(v1.snapshotKey);
    expect(await failure(p.publish('fees'))).toMatchObject({ code: 'GONE', message: 'this version has been pruned; re-seed from a snapshot' });
    expect(await leftovers()).toEqual([]);
  });
});

describe('cursors and version views', () => {
  it('makes cursors that are opaque and never repeat', () => {
    const cursors = Array.from({ length: 50 }, () => newCursor());
    for (const c of cursors) expect(c).toMatch(/^cur_[A-Za-z0-9_-]{24}$/);
    expect(new Set(cursors).size).toBe(50);
  });

  it('lists the event fields in the seed’s order, counters after row_count, with URLs for the exact step', () => {
    const v: DatasetVersion = { ...sampleVersion(2, 'cur_b/2', 'cur_a&1', 'fees x'), prunedAt: null };
    const fields = versionFields(v, 'https://ferry.example.com//');
    expect(Object.keys(fields)).toEqual([
      'dataset_key',
      'version_number',
      'cursor',
      'previous_cursor',
      'changed_row_count',
      'row_count',
      'quote_safe_count',
      'trade_category',
      'big',
      'ok',
      'ratio',
      'published_at',
      'pull_deltas_url',
      'snapshot_url',
      'requires_snapshot',
    ]);
    expect(fields).toMatchObject({
      dataset_key: 'fees x',
      version_number: 2,
      cursor: 'cur_b/2',
      previous_cursor: 'cur_a&1',
      changed_row_count: 3,
      row_count: 20,
      published_at: '2025-01-02T12:00:00.123Z',
      pull_deltas_url: 'https://ferry.example.com/sync/fees%20x/deltas?since=cur_a%261&until=cur_b%2F2',
      snapshot_url: 'https://ferry.example.com/sync/fees%20x/snapshot?cursor=cur_b%2F2',
      requires_snapshot: false,
    });
  });

  it('points a first version’s deltas URL at the changes after it and says it needs a snapshot', () => {
    const v: DatasetVersion = { ...sampleVersion(1, 'cur_first', null), prunedAt: null };
    expect(versionFields(v, 'http://h')).toMatchObject({
      previous_cursor: null,
      pull_deltas_url: 'http://h/sync/fees/deltas?since=cur_first',
      snapshot_url: 'http://h/sync/fees/snapshot?cursor=cur_first',
      requires_snapshot: true,
    });
  });

  it('derives the event id from dataset, cursor and account, so a retried commit dedupes and accounts differ', () => {
    const v: DatasetVersion = { ...sampleVersion(1, 'cur_first', null), prunedAt: null };
    const e = versionEvent(v, 7, 'http://h');
    expect(e.id).toMatch(/^evt_[0-9A-Za-z]{24}$/);
    expect(versionEvent(v, 7, 'http://h').id).toBe(e.id);
    expect(versionEvent(v, 8, 'http://h').id).not.toBe(e.id);
    expect(versionEvent({ ...v, cursor: 'cur_other' }, 7, 'http://h').id).not.toBe(e.id);
    expect(versionEvent({ ...v, datasetKey: 'other' }, 7, 'http://h').id).not.toBe(e.id);
    expect(e).toMatchObject({ accountId: 7, type: 'dataset.version.published', created: v.publishedAt, exportId: null });
    expect(JSON.parse(e.body)).toEqual({ type: 'dataset.version.published', id: e.id, created: Math.floor(v.publishedAt.getTime() / 1000), data: versionFields(v, 'http://h') });
  });
});

describe('version scratch files', () => {
  it('keeps each operation in its own directory under one root per base, removed by remove()', async () => {
    const a = await Scratch.create(tmp());
    const b = await Scratch.create(tmp());
    const root = await scratchRoot(tmp());
    expect(await scratchRoot(tmp())).toBe(root);
    expect(root.path.startsWith(join(tmp(), 'ferry-versions.'))).toBe(true);
    expect(a.dir).not.toBe(b.dir);
    const file = await a.write('x.bin', (async function* () {
      yield Buffer.from('bytes');
    })());
    expect(file).toBe(a.path('x.bin'));
    expect((await leftovers()).sort()).toEqual([a.dir, b.dir].map((d) => d.slice(root.path.length + 1)).sort());
    await a.remove();
    await b.remove();
    expect(await leftovers()).toEqual([]);
  });

  it('sweeps stale directories that earlier releases left in a data dir’s tmp, and only those', async () => {
    const base = join(dir, 'data-tmp');
    const past = new Date(Date.now() - 3_600_000);
    for (const name of ['ferry-versions-Ab12Cd', 'ferry-versions-toolongname', 'ferry-versions-Fresh1']) await mkdir(join(base, name), { recursive: true });
    // Older than the stale limit: a legacy directory is judged by when it last changed.
    await utimes(join(base, 'ferry-versions-Ab12Cd'), past, past);
    await utimes(join(base, 'ferry-versions-toolongname'), past, past);
    await scratchRoot(base);
    const names = await readdir(base);
    expect(names.filter((n) => !n.startsWith('ferry-versions.')).sort()).toEqual(['ferry-versions-Fresh1', 'ferry-versions-toolongname']);
  });

  it('turns a missing object into GONE and passes other store errors through', async () => {
    const scratch = await Scratch.create(tmp());
    try {
      expect(await failure(scratch.download(store, 'versions/none/snapshot.parquet', 'x'))).toMatchObject({ code: 'GONE', message: 'this version has been pruned; re-seed from a snapshot' });
      const broken: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
        // A store outage cannot be produced with a local directory.
        get: async () => {
          throw new FerryError('TRANSIENT', 'store unreachable');
        },
      });
      expect(await failure(scratch.download(broken, 'k', 'x'))).toMatchObject({ code: 'TRANSIENT', message: 'store unreachable' });
    } finally {
      await scratch.remove();
    }
  });
});

describe('SyncService', () => {
  async function three(): Promise<[DatasetVersion, DatasetVersion, DatasetVersion]> {
    const p = new VersionPublisher(deps());
    await table(V1);
    const v1 = await p.publish('fees');
    await table(V2);
    const v2 = await p.publish('fees');
    await table([...V2, [5, 'eps', 5.5, true]]);
    const v3 = await p.publish('fees');
    return [v1, v2, v3];
  }

  it('publishes and answers the public view of the version', async () => {
    await table(V1);
    const view = await sync().publish('fees');
    const v = (await jobs.versions.find('fees', { latest: true }))!;
    expect(view).toEqual({ ...versionFields(v, BASE_URL), pruned_at: null });
    expect(view).toMatchObject({ version_number: 1, row_count: 3, quote_safe_count: 2, top_amount: 3.5 });
  });

  it('lists versions newest first, in pages continued with before', async () => {
    const [v1, v2, v3] = await three();
    const s = sync();
    const all = await s.list('fees', {});
    expect(all.data.map((v) => field(v, 'version_number'))).toEqual([3, 2, 1]);
    expect(all.hasMore).toBe(false);
    expect(all.data[0]).toEqual({ ...versionFields(v3, BASE_URL), pruned_at: null });
    const page = await s.list('fees', { limit: '2' });
    expect(page.data.map((v) => field(v, 'cursor'))).toEqual([v3.cursor, v2.cursor]);
    expect(page.hasMore).toBe(true);
    const rest = await s.list('fees', { limit: '2', before: '2' });
    expect(rest.data.map((v) => field(v, 'cursor'))).toEqual([v1.cursor]);
    expect(rest.hasMore).toBe(false);
    expect((await s.list('fees', { before: '1' })).data).toEqual([]);
  });

  it('shows when a listed version was pruned', async () => {
    await table(V1);
    const p = new VersionPublisher(deps([dataset({ versioning: { retainVersions: 1 } })]));
    await p.publish('fees');
    await p.publish('fees');
    const listed = await sync().list('fees', {});
    expect(listed.data.map((v) => typeof v.pruned_at)).toEqual(['object', 'string']);
    expect(listed.data[1]!.pruned_at).toBe((await jobs.versions.find('fees', { versionNumber: 1 }))!.prunedAt!.toISOString());
  });

  it('refuses a bad listing query with the field’s path, and datasets that cannot be versioned', async () => {
    const s = sync(deps([dataset(), dataset({ key: 'no_key', primaryKey: undefined })]));
    expect(await failure(s.list('fees', { limit: '0' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'limit'] });
    expect(await failure(s.list('fees', { extra: '1' }))).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await failure(s.list('nope', {}))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await failure(s.list('no_key', {}))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['primaryKey'] });
    expect(await failure(s.deltas('no_key', { since: 'x' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['primaryKey'] });
    expect(await failure(s.snapshot('no_key', {}))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['primaryKey'] });
  });

  it('folds the changes since a cursor up to the latest into one file, with headers naming both ends', async () => {
    const [v1, , v3] = await three();
    const res = await sync().deltas('fees', { since: v1.cursor });
    expect(res.headers).toEqual({
      'content-type': 'application/x-ndjson',
      'content-disposition': 'attachment; filename="fees-changes-v1-v3.jsonl"',
      'cache-control': 'private, no-store',
      'ferry-cursor': v3.cursor,
      'ferry-version': '3',
      'ferry-since-version': '1',
      'ferry-row-count': '4',
    });
    expect(jsonl(await body(res))).toEqual([
      { op: 'update', id: 2, name: 'BETA', amount: 20, quote_safe: true },
      { op: 'delete', id: 3, name: null, amount: null, quote_safe: null },
      { op: 'insert', id: 4, name: 'delta', amount: 4.5, quote_safe: false },
      { op: 'insert', id: 5, name: 'eps', amount: 5.5, quote_safe: true },
    ]);
    expect(await leftovers()).toEqual([]);
  });

  it('stops at until, so pull_deltas_url names exactly one step', async () => {
    const [v1, v2, v3] = await three();
    const res = await sync().deltas('fees', { since: v2.cursor, until: v3.cursor });
    expect(res.headers).toMatchObject({ 'ferry-cursor': v3.cursor, 'ferry-version': '3', 'ferry-since-version': '2', 'ferry-row-count': '1' });
    expect(jsonl(await body(res))).toEqual([{ op: 'insert', id: 5, name: 'eps', amount: 5.5, quote_safe: true }]);
    const first = await sync().deltas('fees', { since: v1.cursor, until: v2.cursor });
    expect(first.headers).toMatchObject({ 'ferry-cursor': v2.cursor, 'ferry-version': '2', 'ferry-row-count': '3' });
    expect(jsonl(await body(first)).map((r) => r.id)).toEqual([2, 3, 4]);
  });

  it('answers an up-to-date cursor with no rows but the delta’s columns', async () => {
    const [, , v3] = await three();
    const res = await sync().deltas('fees', { since: v3.cursor, format: 'csv', compression: 'none' });
    expect(res.headers).toMatchObject({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="fees-changes-v3-v3.csv"',
      'ferry-cursor': v3.cursor,
      'ferry-version': '3',
      'ferry-since-version': '3',
      'ferry-row-count': '0',
    });
    expect((await body(res)).toString('utf8')).toBe('op,id,name,amount,quote_safe\n');
  });

  it('serves deltas gzipped, as Parquet, and refuses what the formats cannot do', async () => {
    const [v1] = await three();
    const s = sync();
    const gz = await s.deltas('fees', { since: v1.cursor, format: 'csv', compression: 'gzip' });
    expect(gz.headers).toMatchObject({ 'content-type': 'application/gzip', 'content-disposition': 'attachment; filename="fees-changes-v1-v3.csv.gz"' });
    expect(gunzipSync(await body(gz)).toString('utf8').split('\n')[1]).toBe('update,2,BETA,20,true');
    const pq = await s.deltas('fees', { since: v1.cursor, format: 'parquet' });
    expect(pq.headers).toMatchObject({ 'content-type': PARQUET, 'content-disposition': 'attachment; filename="fees-changes-v1-v3.parquet"', 'ferry-row-count': '4' });
    expect((await parquetRows(await body(pq))).map((r) => [r[0], r[1]])).toEqual([
      ['update', 2],
      ['delete', 3],
      ['insert', 4],
      ['insert', 5],
    ]);
    expect(await failure(s.deltas('fees', { since: v1.cursor, format: 'xlsx' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'format'] });
    expect(await failure(s.deltas('fees', { since: v1.cursor, format: 'parquet', compression: 'gzip' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'compression'] });
    expect(await failure(s.deltas('fees', {}))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'since'] });
    expect(await leftovers()).toEqual([]);
  });

  it('refuses cursors never issued, and an until older than since', async () => {
    const [v1, v2] = await three();
    const s = sync();
    expect(await failure(s.deltas('fees', { since: 'cur_never' }))).toMatchObject({
      code: 'NOT_FOUND',
      path: ['query', 'since'],
      message: 'cursor "cur_never" was never issued for dataset "fees"',
    });
    expect(await failure(s.deltas('fees', { since: v1.cursor, until: 'cur_never' }))).toMatchObject({ code: 'NOT_FOUND', path: ['query', 'until'] });
    expect(await failure(s.deltas('fees', { since: v2.cursor, until: v1.cursor }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      path: ['query', 'until'],
      message: 'until (version 1) is older than since (version 2)',
    });
  });

  it('answers GONE when a step after since was pruned, and serves since’s successors when only since was', async () => {
    await table(V1);
    const p = new VersionPublisher(deps([dataset({ versioning: { retainVersions: 1 } })]));
    const v1 = await p.publish('fees');
    await table(V2);
    const v2 = await p.publish('fees');
    expect((await jobs.versions.find('fees', { cursor: v1.cursor }))?.prunedAt).toBeInstanceOf(Date);
    // retainVersions 1 prunes the version before the latest, but its successor's delta is kept.
    const res = await sync().deltas('fees', { since: v1.cursor });
    expect(res.headers['ferry-row-count']).toBe('3');
    await body(res);
    await table(V1);
    const v3 = await p.publish('fees');
    const err = await failure(sync().deltas('fees', { since: v1.cursor }));
    expect(err).toMatchObject({ code: 'GONE' });
    expect(err.message).toBe(
      'version 1 of "fees" is past retention and its changes were pruned; re-seed from a snapshot (GET /sync/fees/snapshot) and continue from its Ferry-Cursor',
    );
    expect(await failure(sync().deltas('fees', { since: v1.cursor, until: v2.cursor }))).toMatchObject({ code: 'GONE' });
    expect((await sync().deltas('fees', { since: v2.cursor, until: v3.cursor })).headers['ferry-row-count']).toBe('3');
  });

  it('answers NOT_FOUND for deltas and snapshots of a dataset never published', async () => {
    await table(V1);
    const s = sync();
    expect(await failure(s.snapshot('fees', {}))).toMatchObject({ code: 'NOT_FOUND', message: 'dataset "fees" has no published version yet' });
    expect(await failure(s.deltas('fees', { since: 'cur_x' }))).toMatchObject({ code: 'NOT_FOUND', path: ['query', 'since'] });
  });

  it('streams the latest snapshot as stored Parquet, or any version’s by cursor', async () => {
    const [v1, , v3] = await three();
    const s = sync();
    const latest = await s.snapshot('fees', {});
    const stored = await store.get(v3.snapshotKey);
    await collectBytes(stored.body);
    expect(latest.headers).toEqual({
      'ferry-cursor': v3.cursor,
      'ferry-version': '3',
      'ferry-row-count': '4',
      'content-type': PARQUET,
      'content-length': String(stored.size),
      'content-disposition': 'attachment; filename="fees-snapshot-v3.parquet"',
    });
    expect((await parquetRows(await body(latest))).map((r) => r[0])).toEqual([1, 2, 4, 5]);
    const first = await s.snapshot('fees', { cursor: v1.cursor });
    expect(first.headers).toMatchObject({ 'ferry-cursor': v1.cursor, 'ferry-version': '1', 'ferry-row-count': '3', 'content-disposition': 'attachment; filename="fees-snapshot-v1.parquet"' });
    expect(await parquetRows(await body(first))).toEqual(V1);
  });

  it('renders a snapshot in another format, compressed when asked, and removes its scratch when the body ends', async () => {
    const [v1] = await three();
    const s = sync();
    const res = await s.snapshot('fees', { cursor: v1.cursor, format: 'csv', compression: 'gzip' });
    expect(res.headers).toEqual({
      'content-type': 'application/gzip',
      'content-disposition': 'attachment; filename="fees-snapshot-v1.csv.gz"',
      'cache-control': 'private, no-store',
      'ferry-cursor': v1.cursor,
      'ferry-version': '1',
      'ferry-row-count': '3',
    });
    expect(await leftovers()).toHaveLength(1);
    expect(gunzipSync(await body(res)).toString('utf8')).toBe('id,name,amount,quote_safe\n1,alpha,1.5,true\n2,beta,2.5,false\n3,gamma,3.5,true\n');
    expect(await leftovers()).toEqual([]);
    const plain = await s.snapshot('fees', { format: 'jsonl' });
    expect(plain.headers['content-type']).toBe('application/x-ndjson');
    expect(jsonl(await body(plain)).map((r) => r.id)).toEqual([1, 2, 4, 5]);
  });

  it('removes a response’s scratch when the client abandons the body', async () => {
    const [v1] = await three();
    const res = await sync().deltas('fees', { since: v1.cursor, format: 'csv' });
    const it = res.body[Symbol.asyncIterator]();
    await it.next();
    await it.return?.();
    expect(await leftovers()).toEqual([]);
  });

  it('answers GONE for a pruned snapshot, and for one whose file is missing from the store', async () => {
    await table(V1);
    const p = new VersionPublisher(deps([dataset({ versioning: { retainVersions: 1 } })]));
    const v1 = await p.publish('fees');
    const v2 = await p.publish('fees');
    const s = sync();
    expect(await failure(s.snapshot('fees', { cursor: v1.cursor }))).toMatchObject({ code: 'GONE', message: expect.stringContaining('version 1 of "fees" is past retention') });
    await store.delete(v2.snapshotKey);
    expect(await failure(s.snapshot('fees', {}))).toMatchObject({ code: 'GONE', message: expect.stringContaining('version 2 of "fees" is past retention') });
    expect(await failure(s.snapshot('fees', { format: 'csv' }))).toMatchObject({ code: 'GONE', message: 'this version has been pruned; re-seed from a snapshot' });
    expect(await failure(s.snapshot('fees', { cursor: 'cur_never' }))).toMatchObject({ code: 'NOT_FOUND', path: ['query', 'cursor'] });
    expect(await failure(s.snapshot('fees', { format: 'parquet', compression: 'zstd-ish' }))).toMatchObject({ code: 'VALIDATION_FAILED', path: ['query', 'compression'] });
    expect(await leftovers()).toEqual([]);
  });

  it('passes store failures other than a missing file through', async () => {
    await table(V1);
    await new VersionPublisher(deps()).publish('fees');
    const broken: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      // A store outage cannot be produced with a local directory.
      get: async () => {
        throw new FerryError('TRANSIENT', 'store unreachable');
      },
    });
    expect(await failure(sync(deps([dataset()], { store: broken })).snapshot('fees', {}))).toMatchObject({ code: 'TRANSIENT' });
  });
});

describe('the publisher at start', () => {
  it('warns instead of failing when its scratch directory cannot be prepared', async () => {
    // A file where the scratch base should be: nothing can be created under it.
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, '');
    new VersionPublisher(deps([dataset()], { tmpDir: blocked }));
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'could not prepare the versions scratch directory' });
  });
});
