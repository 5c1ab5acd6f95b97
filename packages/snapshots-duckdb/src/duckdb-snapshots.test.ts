import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DuckDBSnapshotEngine } from './duckdb-snapshots.js';

let dir: string;
let engine: DuckDBSnapshotEngine;
let db: DuckDBInstance;
let c: DuckDBConnection;

/** Write rows `(id, v)` as a snapshot file; an empty list gives a zero-row file. */
async function snapshot(name: string, rows: Array<[number, string | null]>): Promise<string> {
  const file = join(dir, `${name}.parquet`);
  const values = rows.length ? rows.map(([id, v]) => `(${id}, ${v === null ? 'NULL' : `'${v}'`})`).join(', ') : '(0, NULL)';
  await c.run(`COPY (SELECT * FROM (VALUES ${values}) t(id, v) ${rows.length ? '' : 'LIMIT 0'}) TO '${file}' (FORMAT parquet)`);
  return file;
}

async function rowsOf(file: string): Promise<unknown[][]> {
  return (await c.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY ALL`)).getRowsJS();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-snapshots-'));
  engine = await DuckDBSnapshotEngine.create({ memoryLimit: '256MB', threads: 2 });
  db = await DuckDBInstance.create(':memory:');
  c = await db.connect();
});

afterAll(async () => {
  c.closeSync();
  db.closeSync();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('diff', () => {
  it('finds inserts, updates (NULLs included) and deletes by key; a delete carries the key and NULLs', async () => {
    const prev = await snapshot('p1', [[1, 'a'], [2, 'b'], [3, null], [4, 'd']]);
    const next = await snapshot('n1', [[1, 'a'], [2, 'B'], [3, 'c'], [5, 'e']]);
    const out = join(dir, 'd1.parquet');
    expect(await engine.diff(prev, next, ['id'], out)).toEqual({ changed: 4, rows: 4 });
    expect(await rowsOf(out)).toEqual([
      ['delete', 4, null],
      ['insert', 5, 'e'],
      ['update', 2, 'B'],
      ['update', 3, 'c'],
    ]);
  });

  it('gives a zero-row delta with the op column for a first version', async () => {
    const next = await snapshot('n2', [[1, 'a'], [2, 'b']]);
    const out = join(dir, 'd2.parquet');
    expect(await engine.diff(null, next, ['id'], out)).toEqual({ changed: 2, rows: 2 });
    expect(await rowsOf(out)).toEqual([]);
    const cols = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${out}')`)).getRowsJS().map((r) => r[0]);
    expect(cols).toEqual(['op', 'id', 'v']);
  });

  it('refuses a key that is not unique, or NULL, and a key column that does not exist', async () => {
    const dup = await snapshot('dup', [[1, 'a'], [1, 'b']]);
    await expect(engine.diff(null, dup, ['id'], join(dir, 'x.parquet'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: /not unique/ });
    await expect(engine.diff(null, dup, ['nope'], join(dir, 'x.parquet'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED', path: ['primaryKey', 0] });
  });
});

describe('coalesce', () => {
  it('folds deltas per key: last values win; insert+delete vanishes, insert+update is an insert, update+delete a delete, delete+insert an update', async () => {
    const v1 = await snapshot('c1', [[1, 'a'], [2, 'b'], [3, 'c']]);
    const v2 = await snapshot('c2', [[1, 'a'], [2, 'b2'], [4, 'd'], [5, 'e']]); // 3 deleted, 2 updated, 4+5 inserted
    const v3 = await snapshot('c3', [[1, 'a'], [3, 'c3'], [4, 'd3']]); // 3 re-inserted, 4 updated, 2 deleted, 5 deleted
    const d2 = join(dir, 'cd2.parquet');
    const d3 = join(dir, 'cd3.parquet');
    await engine.diff(v1, v2, ['id'], d2);
    await engine.diff(v2, v3, ['id'], d3);
    const out = join(dir, 'co.parquet');
    expect(await engine.coalesce([d2, d3], ['id'], out)).toEqual({ rows: 3 });
    expect(await rowsOf(out)).toEqual([
      ['delete', 2, null], // update + delete
      ['insert', 4, 'd3'], // insert + update
      ['update', 3, 'c3'], // delete + insert
      // 5: insert + delete -> nothing
    ]);
    // The coalesced delta applied to v1 gives v3, like the two steps do.
    const direct = join(dir, 'direct.parquet');
    await engine.diff(v1, v3, ['id'], direct);
    expect(await rowsOf(direct)).toEqual(await rowsOf(out));
  });

  it('makes an empty file shaped like another, and reads files back as Arrow', async () => {
    const like = await snapshot('like', [[1, 'a']]);
    const out = join(dir, 'empty.parquet');
    await engine.empty(like, out);
    const stream = await engine.read(out, { signal: new AbortController().signal });
    expect(stream.schema.fields.map((f) => f.name)).toEqual(['id', 'v']);
    let n = 0;
    for await (const b of stream.batches) n += b.numRows;
    expect(n).toBe(0);
    const full = await engine.read(like, { signal: new AbortController().signal });
    const rows: unknown[] = [];
    for await (const b of full.batches) rows.push(...b.toArray().map((r) => r.toJSON()));
    expect(rows).toEqual([{ id: 1, v: 'a' }]);
  });
});

describe('counters', () => {
  it('evaluates named aggregates, as JSON values, and names a failing one', async () => {
    const file = await snapshot('cnt', [[1, 'a'], [2, 'b'], [3, null]]);
    expect(await engine.counters(file, { with_v: 'count(v)', top: 'max(v)', total: 'sum(id)', none: 'max(NULL)' })).toEqual({
      with_v: 2,
      top: 'b',
      total: 3 + 2 + 1,
      none: null,
    });
    await expect(engine.counters(file, { bad: 'count(nope)' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', path: ['versioning', 'counters', 'bad'] });
  });
});

describe('spill directory', () => {
  /** The PID of a process that has exited (and so owns nothing any more). */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', '']);
    return child.pid!;
  }

  it('each engine spills into its own directory under tempDirectory; a dead owner\'s directory is swept at the next start', async () => {
    const base = join(dir, 'spill');
    const a = await DuckDBSnapshotEngine.create({ memoryLimit: '64MB', tempDirectory: base });
    const b = await DuckDBSnapshotEngine.create({ memoryLimit: '64MB', tempDirectory: base });
    expect(a.spillDirectory).not.toBe(b.spillDirectory);
    expect(dirname(a.spillDirectory!)).toBe(base);

    // What a process killed mid-diff leaves: its directory, its owner record, a spill file.
    const ns = (JSON.parse(await readFile(join(a.spillDirectory!, '.owner'), 'utf8')) as { ns: string | null }).ns;
    const pid = deadPid();
    const leftover = join(base, `snapshots-${pid}-0badc0de`);
    await mkdir(leftover);
    await writeFile(join(leftover, '.owner'), JSON.stringify({ pid, ns }));
    await writeFile(join(leftover, 'duckdb_temp_storage_DEFAULT-0.tmp'), Buffer.alloc(4096));

    const c = await DuckDBSnapshotEngine.create({ memoryLimit: '64MB', tempDirectory: base });
    const names = await readdir(base);
    if (ns === null) {
      // No PID namespace to compare against (not Linux): it goes once its heartbeat is stale.
      expect(names).toContain(`snapshots-${pid}-0badc0de`);
    } else {
      expect(names.sort()).toEqual([a, b, c].map((e) => basename(e.spillDirectory!)).sort());
    }
    await Promise.all([a.close(), b.close(), c.close()]);
    expect((await readdir(base)).filter((n) => n !== `snapshots-${pid}-0badc0de`)).toEqual([]);
  });
});

describe('a full disk', () => {
  it('fails with STORAGE_FULL "disk full", not a query error', async (ctx) => {
    const disk = join(dir, 'small-disk');
    await mkdir(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (err) {
      console.warn(`skipping the full-disk test: cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`);
      return ctx.skip();
    }
    try {
      const prev = join(dir, 'full-prev.parquet');
      const next = join(dir, 'full-next.parquet');
      await c.run(`COPY (SELECT i AS id, 'a' AS v FROM range(200000) t(i)) TO '${prev}' (FORMAT parquet)`);
      await c.run(`COPY (SELECT i AS id, md5(CAST(i AS VARCHAR)) AS v FROM range(200000) t(i)) TO '${next}' (FORMAT parquet)`);
      const err = await engine.diff(prev, next, ['id'], join(disk, 'delta.parquet')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_FULL', retryable: true, message: expect.stringMatching(/^disk full: /) });
    } finally {
      execFileSync('umount', [disk]);
    }
  });
});
