import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectBytes, silentLogger, type Account, type ExportResult, type JobStore, type ObjectStore } from '@ferry/core';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { LocalStore } from '@ferry/store-local';
import { sampleEvent, sampleExport, sampleResult } from '@ferry/testing/jobs';
import { RetentionSweeper } from './retention.js';
import { recordingLogger, type LogLine } from './test-support/log-lines.js';

/*
 * The retention promises of the README (downloads work for 30 days, then answer 410; the event feed
 * keeps 30 days), against a real SQLite job store and a real local object store.
 */

const DAY = 86_400_000;
const NOW = new Date('2026-06-01T12:00:00Z');

let dir: string;
let jobs: JobStore;
let store: ObjectStore;
let account: Account;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-retention-'));
  jobs = new SqliteJobStore({ file: join(dir, 'ferry.db') });
  store = new LocalStore({ root: join(dir, 'files') });
  account = await jobs.accounts.create({ name: 'retention', createdAt: NOW });
});

afterEach(async () => {
  await jobs.close();
  await rm(dir, { recursive: true, force: true });
});

const sweeper = (s: ObjectStore = store) => new RetentionSweeper({ jobs, store: s, logger: silentLogger });

async function put(key: string): Promise<void> {
  await store.put(key, (async function* () { yield Buffer.from(`bytes of ${key}`); })(), { contentType: 'text/csv' });
}

const exists = (key: string) =>
  store.get(key).then(
    async (o) => (await collectBytes(o.body)).length > 0,
    () => false,
  );

/** A completed export with real files (two parts and a manifest) that expire at `expiresAt`. */
async function completed(expiresAt: Date): Promise<{ id: string; keys: string[] }> {
  const job = sampleExport(account.id);
  await jobs.exports.insert(job);
  const [claimed] = await jobs.exports.claim('w-retention', { limit: 1, leaseMs: 60_000, maxRunningPerAccount: 100 });
  expect(claimed?.id).toBe(job.id);
  const base = sampleResult(new Date(expiresAt.getTime() - 30 * DAY), { expiresAt });
  const result: ExportResult = {
    ...base,
    files: base.files.map((f) => ({ ...f, objectKey: `exports/${job.id}/${f.fileName}` })),
    manifest: { ...base.manifest!, objectKey: `exports/${job.id}/manifest.json` },
  };
  const keys = [...result.files.map((f) => f.objectKey), result.manifest!.objectKey];
  for (const key of keys) await put(key);
  expect(await jobs.exports.complete(job.id, 'w-retention', result)).toBe(true);
  return { id: job.id, keys };
}

describe('retention', () => {
  it('deletes every file of an export whose retention ended and marks it expired; a later one is untouched', async () => {
    const old = await completed(new Date(NOW.getTime() - 1));
    const fresh = await completed(new Date(NOW.getTime() + DAY));
    expect(await sweeper().sweep(NOW)).toBe(0);
    for (const key of old.keys) expect(await exists(key), key).toBe(false);
    for (const key of fresh.keys) expect(await exists(key), key).toBe(true);
    expect((await jobs.exports.get(old.id))?.state).toBe('expired');
    expect((await jobs.exports.get(fresh.id))?.state).toBe('completed');
  });

  it('finishes after a crash between deleting the files and marking the export', async () => {
    const old = await completed(new Date(NOW.getTime() - DAY));
    // The previous pass deleted the files, then the process died before markExpired.
    for (const key of old.keys) await store.delete(key);
    await sweeper().sweep(NOW);
    expect((await jobs.exports.get(old.id))?.state).toBe('expired');
  });

  it('leaves an export completed when a file cannot be deleted, so the next pass tries again', async () => {
    const old = await completed(new Date(NOW.getTime() - DAY));
    const refusing: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      delete: async () => {
        throw new Error('store is read-only');
      },
    });
    await expect(sweeper(refusing).sweep(NOW)).rejects.toThrow('store is read-only');
    expect((await jobs.exports.get(old.id))?.state).toBe('completed');
    for (const key of old.keys) expect(await exists(key), key).toBe(true);
    await sweeper().sweep(NOW);
    expect((await jobs.exports.get(old.id))?.state).toBe('expired');
  });

  it('says to run again after a full page of 100, and the next pass takes the rest', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) ids.push((await completed(new Date(NOW.getTime() - DAY - i))).id);
    expect(await sweeper().sweep(NOW)).toBe(100);
    expect(await sweeper().sweep(NOW)).toBe(0);
    const states = await Promise.all(ids.map(async (id) => (await jobs.exports.get(id))?.state));
    expect(new Set(states)).toEqual(new Set(['expired']));
  });

  it('sweeps as soon as it starts, logs each expiry, and reports a failed pass instead of stopping', async () => {
    const lines: LogLine[] = [];
    const logger = recordingLogger((line) => lines.push(line));
    const old = await completed(new Date(Date.now() - DAY));
    const running = new RetentionSweeper({ jobs, store, logger }, { intervalMs: 60_000 });
    running.start();
    await running.stop();
    expect((await jobs.exports.get(old.id))?.state).toBe('expired');
    expect(lines).toEqual([{ level: 'info', obj: { queryUUID: old.id }, msg: 'export expired; file deleted' }]);

    const next = await completed(new Date(Date.now() - DAY));
    const refusing: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      delete: async () => {
        throw new Error('store is read-only');
      },
    });
    const failing = new RetentionSweeper({ jobs, store: refusing, logger }, { intervalMs: 60_000 });
    failing.start();
    await failing.stop();
    expect(lines.at(-1)).toEqual({ level: 'error', obj: { err: 'Error: store is read-only' }, msg: 'retention sweep failed' });
    expect((await jobs.exports.get(next.id))?.state).toBe('completed');
  });

  it('trims events older than the event retention and keeps the rest', async () => {
    const old = sampleEvent(account.id, { created: new Date(NOW.getTime() - 31 * DAY) });
    const recent = sampleEvent(account.id, { created: new Date(NOW.getTime() - 29 * DAY) });
    await jobs.events.insert([old, recent]);
    await sweeper().sweep(NOW);
    expect((await jobs.events.list(account.id, { limit: 10 })).map((e) => e.id)).toEqual([recent.id]);
  });

  it('uses a configured event retention', async () => {
    const event = sampleEvent(account.id, { created: new Date(NOW.getTime() - 2 * DAY) });
    await jobs.events.insert([event]);
    await new RetentionSweeper({ jobs, store, logger: silentLogger }, { eventRetentionMs: 3 * DAY }).sweep(NOW);
    expect(await jobs.events.list(account.id, { limit: 10 })).toHaveLength(1);
    await new RetentionSweeper({ jobs, store, logger: silentLogger }, { eventRetentionMs: DAY }).sweep(NOW);
    expect(await jobs.events.list(account.id, { limit: 10 })).toHaveLength(0);
  });
});
