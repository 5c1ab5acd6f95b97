import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { LocalStore } from '@ferry/store-local';
import { DuckDBSource, DuckDBSourceOptions } from '@ferry/source-duckdb';
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { parquetFormat } from '@ferry/format-parquet';
import { waitFor } from '@ferry/testing/support';
import { deliveryId, eventId } from './ids.js';
import { createFormats, ExportRig, RENTALS, RENTALS_QUERY, rentalsCsv, rentalsJsonl, sha256, type RigParts, type ShiftedClock } from './test-support/export-rig.js';

/*
 * The export worker's promise: a queued export becomes stored files, its result, an
 * export.completed event and the completion webhook, against a real SQLite job store, a local
 * object store, DuckDB reading a Parquet file and the real format writers.
 */

async function build(dir: string, clock: ShiftedClock): Promise<RigParts> {
  const formats = await createFormats([csvFormat, jsonlFormat, parquetFormat], { csv: { use: 'csv' }, jsonl: { use: 'jsonl' }, parquet: { use: 'parquet' } }, dir);
  return {
    jobs: new SqliteJobStore({ file: join(dir, 'ferry.db'), now: clock.now }),
    store: new LocalStore({ root: join(dir, 'files') }),
    source: await DuckDBSource.create(DuckDBSourceOptions.parse({ pushdown: true, threads: 1 }), { dataDir: dir }),
    formats,
  };
}

const DAY = 86_400_000;
let rig: ExportRig;

beforeEach(async () => {
  rig = await ExportRig.open(build);
});

afterEach(async () => {
  await rig.close();
});

describe('one export, end to end', () => {
  it('stores the file, records rows, bytes and sha256, and queues the completion event and webhook with it', async () => {
    const requestedAt = new Date(Date.now() - 5_000);
    const job = await rig.insert({ requestedAt });
    const worker = rig.worker({ retentionMs: 7 * DAY });
    expect(await worker.runOnce()).toBe(true);

    const done = await rig.get(job.id);
    const stored = await rig.read(`${job.id}/Rentals-Q1.csv`);
    expect(stored.toString('utf8')).toBe(rentalsCsv());
    expect(done).toMatchObject({ state: 'completed', attempts: 1, error: null, progressRows: 25, progressBytes: stored.length });
    const result = done.result!;
    expect(result.files).toEqual([
      { objectKey: `${job.id}/Rentals-Q1.csv`, fileName: 'Rentals-Q1.csv', contentType: 'text/csv; charset=utf-8', rows: 25, bytes: stored.length, sha256: sha256(stored) },
    ]);
    expect(result).toMatchObject({ manifest: null, numberRows: 25, bytes: stored.length, pushdown: true });
    expect(result.timeTakenMs).toBe(result.finishedAt.getTime() - requestedAt.getTime());
    expect(result.expiresAt.getTime() - result.finishedAt.getTime()).toBe(7 * DAY);

    const events = await rig.events();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'export.completed', exportId: job.id });
    expect(events[0]!.body).toMatchObject({
      id: eventId(`${job.id}\0export.completed`),
      type: 'export.completed',
      data: { object: { uuid: job.id, object: 'rentals', account_id: rig.account.id, finished_at: Math.floor(result.finishedAt.getTime() / 1000) } },
    });

    const [delivery, ...more] = await rig.deliveries(job.id);
    expect(more).toEqual([]);
    expect(delivery).toMatchObject({
      id: deliveryId(job.id, 'export.completed'),
      endpointId: rig.endpointId,
      eventType: 'export.completed',
      headers: { 'SHA256-HMAC-Signature': 'f'.repeat(64) },
      state: 'pending',
    });
    expect(JSON.parse(delivery!.body)).toEqual({
      queryUUID: job.id,
      name: 'Rentals Q1',
      format: 'csv',
      payload: RENTALS_QUERY,
      hmacSignature: 'f'.repeat(64),
      gcsBlob: {
        url: rig.links.url({ exportId: job.id, expiresAt: result.expiresAt }),
        expires: result.expiresAt.toISOString(),
        timeTakenMs: result.timeTakenMs,
        numberRows: 25,
      },
      requestedOn: requestedAt.toISOString(),
      completedOn: result.finishedAt.toISOString(),
    });

    expect(worker.counters).toEqual({ completed: 1, failed: 0, retried: 0, released: 0, leasesLost: 0 });
    expect(rig.ended).toEqual([{ format: 'csv', outcome: 'completed', seconds: expect.any(Number), rows: 25, bytes: stored.length }]);
    expect(rig.ended[0]!.seconds).toBeGreaterThanOrEqual(0);
    expect(rig.logs).toEqual([
      { level: 'info', obj: { queryUUID: job.id, rows: 25, bytes: stored.length, ms: result.timeTakenMs, pushdown: true }, msg: 'export completed' },
    ]);
  });

  it('says there was nothing to do when no export is queued', async () => {
    const worker = rig.worker();
    expect(await worker.runOnce()).toBe(false);
    expect(worker.counters.completed).toBe(0);
  });

  it('counts only the rows the query selects', async () => {
    const query = { ...RENTALS_QUERY, filters: [{ column: 'city', filter: { equals: 'Seattle' } }] };
    const job = await rig.insert({ query });
    await rig.worker().runOnce();
    const seattle = RENTALS.filter((r) => r.city === 'Seattle');
    expect((await rig.read(`${job.id}/Rentals-Q1.csv`)).toString()).toBe(rentalsCsv(seattle));
    expect((await rig.get(job.id)).result!.numberRows).toBe(5);
    // The event carries the export's filters as submitted.
    expect((await rig.events())[0]!.body).toMatchObject({ data: { object: { filters: query.filters } } });
  });

  it('stores a header-only file for a query that selects nothing', async () => {
    const job = await rig.insert({ query: { ...RENTALS_QUERY, filters: [{ column: 'city', filter: { equals: 'Nowhere' } }] } });
    await rig.worker().runOnce();
    expect((await rig.read(`${job.id}/Rentals-Q1.csv`)).toString()).toBe('id,city,rent\n');
    expect((await rig.get(job.id)).result).toMatchObject({ numberRows: 0, files: [{ rows: 0, bytes: 13 }] });
  });

  it('writes JSON Lines with its extension and media type', async () => {
    const job = await rig.insert({ format: 'jsonl', name: 'Données été / 2024' });
    await rig.worker().runOnce();
    const stored = await rig.read(`${job.id}/Donnees-ete-2024.jsonl`);
    expect(stored.toString('utf8')).toBe(rentalsJsonl());
    expect((await rig.get(job.id)).result!.files).toEqual([
      { objectKey: `${job.id}/Donnees-ete-2024.jsonl`, fileName: 'Donnees-ete-2024.jsonl', contentType: 'application/x-ndjson', rows: 25, bytes: stored.length, sha256: sha256(stored) },
    ]);
  });
});

describe('compression', () => {
  it('gzips the file, names it .csv.gz, and reports the stored (compressed) size and hash', async () => {
    const job = await rig.insert({ compression: 'gzip' });
    await rig.worker().runOnce();
    const stored = await rig.read(`${job.id}/Rentals-Q1.csv.gz`);
    expect(gunzipSync(stored).toString('utf8')).toBe(rentalsCsv());
    const done = await rig.get(job.id);
    expect(done.result!.files).toEqual([
      { objectKey: `${job.id}/Rentals-Q1.csv.gz`, fileName: 'Rentals-Q1.csv.gz', contentType: 'application/gzip', rows: 25, bytes: stored.length, sha256: sha256(stored) },
    ]);
    expect(done.result!.bytes).toBe(stored.length);
    expect(done.progressBytes).toBe(stored.length);
  });

  it('compresses at the configured gzip level', async () => {
    const fast = await rig.insert({ compression: 'gzip', name: 'level0' });
    await rig.worker({ gzipLevel: 0 }).runOnce();
    const best = await rig.insert({ compression: 'gzip', name: 'level9' });
    await rig.worker({ gzipLevel: 9 }).runOnce();
    const raw = Buffer.byteLength(rentalsCsv());
    const stored0 = await rig.read(`${fast.id}/level0.csv.gz`);
    const stored9 = await rig.read(`${best.id}/level9.csv.gz`);
    // Level 0 stores the bytes uncompressed inside gzip framing; level 9 shrinks them.
    expect(stored0.length).toBeGreaterThan(raw);
    expect(stored9.length).toBeLessThan(raw);
    expect(gunzipSync(stored0).toString()).toBe(rentalsCsv());
    expect(gunzipSync(stored9).toString()).toBe(rentalsCsv());
  });
});

describe('pushdown', () => {
  it('lets DuckDB encode the CSV when pushdown is on and the Arrow path when off: for text and integer columns, the same bytes', async () => {
    const pushed = await rig.insert({ name: 'pushed' });
    await rig.worker({ pushdown: true }).runOnce();
    const arrow = await rig.insert({ name: 'arrow' });
    await rig.worker({ pushdown: false }).runOnce();
    const a = (await rig.get(pushed.id)).result!;
    const b = (await rig.get(arrow.id)).result!;
    expect(a.pushdown).toBe(true);
    expect(b.pushdown).toBe(false);
    expect([a.numberRows, b.numberRows]).toEqual([25, 25]);
    expect(a.files[0]!.sha256).toBe(b.files[0]!.sha256);
    expect(rig.logs.map((l) => (l.obj as { pushdown: boolean }).pushdown)).toEqual([true, false]);
  });

  it('uses the Arrow path for a writer whose bytes the source cannot reproduce', async () => {
    const formats = await createFormats([csvFormat], { csv: { use: 'csv', options: { delimiter: ';' } } }, rig.dir);
    const job = await rig.insert();
    await rig.worker({ pushdown: true }, { formats }).runOnce();
    expect((await rig.get(job.id)).result!.pushdown).toBe(false);
    expect((await rig.read(`${job.id}/Rentals-Q1.csv`)).toString()).toMatch(/^id;city;rent\n1;Seattle;1000\n2;Portland, OR;1037\n/);
  });

  it('writes Parquet, uncompressed by Ferry: by DuckDB with pushdown on, through the Arrow path with it off', async () => {
    for (const pushdown of [true, false]) {
      const job = await rig.insert({ format: 'parquet' });
      await rig.worker({ pushdown }).runOnce();
      const stored = await rig.read(`${job.id}/Rentals-Q1.parquet`);
      expect(stored.subarray(0, 4).toString()).toBe('PAR1');
      expect((await rig.get(job.id)).result).toMatchObject({
        pushdown,
        numberRows: 25,
        files: [{ fileName: 'Rentals-Q1.parquet', contentType: 'application/vnd.apache.parquet', rows: 25, bytes: stored.length, sha256: sha256(stored) }],
      });
    }
  });
});

describe('split exports', () => {
  it('cuts parts at maxFileRows, each a complete CSV, and stores a manifest beside them', async () => {
    const job = await rig.insert({ split: { maxFileRows: 10 } });
    await rig.worker().runOnce();
    const result = (await rig.get(job.id)).result!;
    const names = ['Rentals-Q1.part-00001.csv', 'Rentals-Q1.part-00002.csv', 'Rentals-Q1.part-00003.csv'];
    const parts = await Promise.all(names.map((n) => rig.read(`${job.id}/${n}`)));
    expect(parts.map((p) => p.toString())).toEqual([rentalsCsv(RENTALS.slice(0, 10)), rentalsCsv(RENTALS.slice(10, 20)), rentalsCsv(RENTALS.slice(20))]);
    expect(result.files).toEqual(
      names.map((fileName, i) => ({
        objectKey: `${job.id}/${fileName}`,
        fileName,
        contentType: 'text/csv; charset=utf-8',
        rows: [10, 10, 5][i],
        bytes: parts[i]!.length,
        sha256: sha256(parts[i]!),
      })),
    );
    const manifestBytes = await rig.read(`${job.id}/Rentals-Q1.manifest.json`);
    expect(manifestBytes.toString()).toBe(
      `${JSON.stringify({ queryUUID: job.id, files: result.files.map((f) => ({ name: f.fileName, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })) }, null, 2)}\n`,
    );
    expect(result.manifest).toEqual({
      objectKey: `${job.id}/Rentals-Q1.manifest.json`,
      fileName: 'Rentals-Q1.manifest.json',
      contentType: 'application/json',
      rows: 3,
      bytes: manifestBytes.length,
      sha256: sha256(manifestBytes),
    });
    // The manifest is not an export file: the export's bytes are its parts'.
    expect(result).toMatchObject({ numberRows: 25, bytes: parts.reduce((n, p) => n + p.length, 0), pushdown: false });

    const [delivery] = await rig.deliveries(job.id);
    const body = JSON.parse(delivery!.body) as Record<string, unknown>;
    expect(body.files).toEqual(
      result.files.map((f, i) => ({ url: rig.links.url({ exportId: job.id, expiresAt: result.expiresAt, file: i }), name: f.fileName, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
    );
    expect(body.manifestUrl).toBe(rig.links.url({ exportId: job.id, expiresAt: result.expiresAt, file: 'manifest' }));
    expect(body.gcsBlob).toMatchObject({ url: rig.links.url({ exportId: job.id, expiresAt: result.expiresAt }), numberRows: 25 });
  });

  it('gzips every part and keeps the manifest plain JSON', async () => {
    const job = await rig.insert({ split: { maxFileRows: 20 }, compression: 'gzip' });
    await rig.worker().runOnce();
    const result = (await rig.get(job.id)).result!;
    expect(result.files.map((f) => [f.fileName, f.contentType, f.rows])).toEqual([
      ['Rentals-Q1.part-00001.csv.gz', 'application/gzip', 20],
      ['Rentals-Q1.part-00002.csv.gz', 'application/gzip', 5],
    ]);
    expect(gunzipSync(await rig.read(`${job.id}/Rentals-Q1.part-00002.csv.gz`)).toString()).toBe(rentalsCsv(RENTALS.slice(20)));
    expect(result.manifest?.fileName).toBe('Rentals-Q1.manifest.json');
  });

  it('has one part and no manifest when every row fits in the first part', async () => {
    const job = await rig.insert({ split: { maxFileRows: 25 } });
    await rig.worker().runOnce();
    const result = (await rig.get(job.id)).result!;
    expect(result.files.map((f) => [f.fileName, f.rows])).toEqual([['Rentals-Q1.part-00001.csv', 25]]);
    expect(result.manifest).toBeNull();
    expect(await rig.exists(`${job.id}/Rentals-Q1.manifest.json`)).toBe(false);
    const body = JSON.parse((await rig.deliveries(job.id))[0]!.body) as Record<string, unknown>;
    expect(Object.keys(body)).not.toContain('files');
    expect(Object.keys(body)).not.toContain('manifestUrl');
  });

  it('stores one valid, empty part for a split export without rows', async () => {
    const job = await rig.insert({ split: { maxFileRows: 10 }, query: { ...RENTALS_QUERY, filters: [{ column: 'id', filter: { equals: 0 } }] } });
    await rig.worker().runOnce();
    expect((await rig.get(job.id)).result).toMatchObject({ numberRows: 0, manifest: null, files: [{ fileName: 'Rentals-Q1.part-00001.csv', rows: 0 }] });
    expect((await rig.read(`${job.id}/Rentals-Q1.part-00001.csv`)).toString()).toBe('id,city,rent\n');
  });

  it('keeps every part within maxFileBytes and every row in order, then removes its spools', async () => {
    const job = await rig.insert({ split: { maxFileBytes: 200 } });
    await rig.worker().runOnce();
    const done = await rig.get(job.id);
    const result = done.result!;
    expect(done.state).toBe('completed');
    expect(result.files.length).toBeGreaterThan(2);
    const parts = await Promise.all(result.files.map((f) => rig.read(f.objectKey)));
    for (const [i, p] of parts.entries()) {
      expect(p.length).toBeLessThanOrEqual(200);
      expect(p.length).toBe(result.files[i]!.bytes);
      expect(p.toString().split('\n').length - 2).toBe(result.files[i]!.rows);
    }
    const rows = parts.flatMap((p) => p.toString().split('\n').slice(1, -1));
    expect(rows.join('\n') + '\n').toBe(rentalsCsv().slice('id,city,rent\n'.length));
    expect(result.numberRows).toBe(25);
    expect(done.progressRows).toBe(25);
    expect(result.bytes).toBe(parts.reduce((n, p) => n + p.length, 0));
    expect((await readdir(rig.scratchDir)).filter((n) => n.startsWith('ferry-split-'))).toEqual([]);
  });

  it('honours both limits at once', async () => {
    const job = await rig.insert({ split: { maxFileBytes: 10_000, maxFileRows: 7 } });
    await rig.worker().runOnce();
    expect((await rig.get(job.id)).result!.files.map((f) => f.rows)).toEqual([7, 7, 7, 4]);
  });

  it('fails at once, with nothing stored, when a single row is larger than maxFileBytes', async () => {
    const job = await rig.insert({ split: { maxFileBytes: 10 } });
    const worker = rig.worker({ maxAttempts: 3 });
    await worker.runOnce();
    const done = await rig.get(job.id);
    expect(done).toMatchObject({ state: 'failed', attempts: 1, error: 'a single row takes more than maxFileBytes (10 bytes) in csv: raise maxFileBytes' });
    expect(worker.counters).toMatchObject({ failed: 1, retried: 0 });
    expect(await readdir(join(rig.dir, 'files', job.id)).catch(() => [])).toEqual([]);
  });
});

describe('split spools', () => {
  const spool = (id: string, attempt: number, which: 'a' | 'b' = 'a') => `ferry-split-${id}-${attempt}.${which}.spool`;

  async function touch(name: string): Promise<void> {
    await mkdir(rig.scratchDir, { recursive: true });
    await writeFile(join(rig.scratchDir, name), 'left over');
  }

  it('on start, removes the spools of attempts that are over and keeps live ones, unknown exports’ and other files', async () => {
    const ended = await rig.insert({ name: 'ended' });
    await rig.worker().runOnce();
    const live = await rig.insert({ name: 'live' });
    const [claimed] = await rig.jobs.exports.claim('elsewhere', { limit: 1, leaseMs: 3_600_000, maxRunningPerAccount: 100 });
    expect(claimed?.id).toBe(live.id);
    const foreign = '00000000-0000-4000-8000-000000000000';
    const gone = [spool(ended.id, 1), spool(ended.id, 1, 'b'), spool(live.id, 0)];
    const kept = [spool(live.id, 1), spool(live.id, 1, 'b'), spool(foreign, 1), 'notes.txt', `ferry-split-${live.id}-1.c.spool`];
    for (const name of [...gone, ...kept]) await touch(name);

    const worker = rig.worker();
    worker.start();
    await waitFor('the sweep', async () => ((await readdir(rig.scratchDir)).some((n) => gone.includes(n)) ? undefined : true));
    await worker.stop();
    // The sweep looks names up one at a time: let it finish the ones after the last removal.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect((await readdir(rig.scratchDir)).sort()).toEqual([...kept].sort());
  });

  it('a split attempt clears what earlier attempts of the same export left, and only those', async () => {
    const job = await rig.insert({ split: { maxFileBytes: 1_000_000 } });
    // An earlier attempt's worker died holding the export; its lease runs out.
    await rig.jobs.exports.claim('died', { limit: 1, leaseMs: 1_000, maxRunningPerAccount: 100 });
    rig.clock.advance(60_000);
    const other = '00000000-0000-4000-8000-000000000001';
    for (const name of [spool(job.id, 1), spool(job.id, 1, 'b'), spool(other, 1)]) await touch(name);

    await rig.worker().runOnce();
    expect(await rig.get(job.id)).toMatchObject({ state: 'completed', attempts: 2 });
    expect(await readdir(rig.scratchDir)).toEqual([spool(other, 1)]);
  });
});
