import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from './schema.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { tempDatabase } from './test-support/temp-db.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const T = Date.UTC(2025, 2, 1, 9, 30);
const KEY_HASH = 'f'.repeat(8) + '0123456789abcdef'.repeat(3) + '0'.repeat(8);

/** A data dir as the store before migration 3 left it, filled the way that store wrote rows. */
function databaseAtVersion2(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  for (const [i, sql] of MIGRATIONS.slice(0, 2).entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${i + 1}`);
  }
  db.prepare('INSERT INTO accounts (id, created_at) VALUES (1, ?)').run(T);
  db.prepare('INSERT INTO api_keys (key_hash, account_id, created_at) VALUES (?, 1, ?)').run(KEY_HASH, T + 1);
  db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run('signing-secret', 'kept');
  db.prepare(
    `INSERT INTO endpoints (id, account_id, url, scheme, secrets, events, description, registered, schedule, created_at, updated_at)
     VALUES ('ep_old', 1, 'https://hooks.example.com/events', 'standard-webhooks', ?, '["export.*"]', 'billing', 1, '[1000,5000]', ?, ?)`,
  ).run(JSON.stringify([{ value: 'whsec_new', expiresAt: null }, { value: 'whsec_old', expiresAt: T + 86_400_000 }]), T, T);
  const result = {
    files: [{ objectKey: 'exports/exp_old/a.csv', fileName: 'a.csv', contentType: 'text/csv', rows: 3, bytes: 30, sha256: 'b'.repeat(64) }],
    manifest: null,
    numberRows: 3,
    bytes: 30,
    timeTakenMs: 12,
    finishedAt: new Date(T + 60_000),
    expiresAt: new Date(T + 30 * 86_400_000),
    pushdown: true,
  };
  db.prepare(
    `INSERT INTO exports (id, account_id, name, format, compression, webhook_url, endpoint_id, dataset_key, query, hmac_signature,
       notify_on_failure, split, state, attempts, requested_at, run_after, started_at, finished_at, updated_at, progress_rows, progress_bytes,
       result, expires_at, downloads)
     VALUES ('exp_old', 1, 'old', 'csv', 'none', 'https://hooks.example.com/ferry', 'ep_old', 'rentals', '{"b":1,"a":[2]}', ?, 1, NULL,
       'completed', 1, ?, ?, ?, ?, ?, 3, 30, ?, ?, 1)`,
  ).run('a'.repeat(64), T, T, T + 1000, T + 60_000, T + 60_000, JSON.stringify(result), T + 30 * 86_400_000);
  db.prepare(`INSERT INTO events (id, account_id, type, created_at, export_id, body) VALUES ('evt_old', 1, 'export.completed', ?, 'exp_old', '{"x":1}')`).run(
    T + 60_000,
  );
  db.prepare(
    `INSERT INTO deliveries (id, account_id, endpoint_id, message_id, export_id, event_type, body, headers, state, attempts, retry_index,
       next_attempt_at, created_at, last_error, last_status)
     VALUES ('dlv_old', 1, 'ep_old', 'evt_old', 'exp_old', 'export.completed', '{"x":1}', '{"webhook-id":"evt_old"}', 'failed', 1, 1, ?, ?, 'HTTP 500', 500)`,
  ).run(T + 61_000, T + 60_000);
  db.prepare(`INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, status, error, response_body) VALUES ('dlv_old', 1, ?, 40, 500, 'HTTP 500', 'oops')`).run(
    T + 60_500,
  );
  db.prepare(
    `INSERT INTO dataset_versions (dataset_key, version_number, cursor, previous_cursor, changed_row_count, row_count, counters, published_at,
       snapshot_key, delta_key)
     VALUES ('fees', 1, 'cur_1', NULL, 4, 4, '{"n":4}', ?, 's1', 'd1')`,
  ).run(T);
  db.prepare(
    `INSERT INTO schedules (id, kind, account_id, name, dataset_key, cron, body, next_run_at, last_run_at, created_at)
     VALUES ('sch_old', 'export', 1, 'nightly', 'rentals', '0 3 * * *', '{"request":{}}', ?, NULL, ?)`,
  ).run(T + 86_400_000, T);
  db.close();
}

describe('SqliteJobStore migrations', () => {
  it('opens a data dir written before migration 3 and reads every old row back through the new parts', async () => {
    const { file, remove } = tempDatabase();
    cleanups.push(remove);
    databaseAtVersion2(file);
    const store = new SqliteJobStore({ file });
    cleanups.push(() => store.close());

    expect(await store.accounts.get(1)).toEqual({ id: 1, name: null, createdAt: new Date(T) });
    const key = { id: `key_${KEY_HASH.slice(0, 16)}`, accountId: 1, prefix: '', createdAt: new Date(T + 1), lastUsedAt: null, revokedAt: null };
    expect(await store.accounts.findKey(KEY_HASH)).toEqual(key);
    expect(await store.accounts.getKey(key.id)).toEqual(key);
    expect(await store.accounts.countActiveKeys()).toBe(1);
    expect(await store.settings.get('signing-secret')).toBe('kept');

    expect(await store.endpoints.get('ep_old')).toMatchObject({
      secrets: [
        { value: 'whsec_new', expiresAt: null },
        { value: 'whsec_old', expiresAt: new Date(T + 86_400_000) },
      ],
      events: ['export.*'],
      scheduleMs: [1000, 5000],
      registered: true,
      enabled: true,
    });
    const job = await store.exports.get('exp_old');
    expect(job).toMatchObject({ state: 'completed', query: { b: 1, a: [2] }, notifyOnFailure: true, downloads: 1, finishedAt: new Date(T + 60_000) });
    expect(job?.result).toMatchObject({ numberRows: 3, pushdown: true, finishedAt: new Date(T + 60_000), expiresAt: new Date(T + 30 * 86_400_000) });
    expect(await store.events.list(1, { limit: 10 })).toMatchObject([{ id: 'evt_old', exportId: 'exp_old', created: new Date(T + 60_000) }]);
    expect(await store.deliveries.get('dlv_old')).toMatchObject({
      state: 'failed',
      url: 'https://hooks.example.com/events',
      createdAt: new Date(T + 60_000),
      headers: { 'webhook-id': 'evt_old' },
      attemptLog: [{ at: new Date(T + 60_500), status: 500, error: 'HTTP 500', responseBody: 'oops', durationMs: 40 }],
    });
    expect(await store.versions.find('fees', { latest: true })).toMatchObject({ versionNumber: 1, cursor: 'cur_1', counters: { n: 4 } });
    expect(await store.schedules.get('sch_old')).toMatchObject({ cron: '0 3 * * *', nextRunAt: new Date(T + 86_400_000) });

    // And the migrated tables take the new contract's writes.
    expect(await store.accounts.revokeKey(key.id, new Date(T + 5))).toBe(true);
    expect(await store.accounts.addKey({ id: 'key_new', accountId: 1, keyHash: 'h'.repeat(64), prefix: 'fk_live_ab', createdAt: new Date(T + 6) })).toBe(true);
    expect(await store.accounts.addKey({ id: 'key_dup', accountId: 1, keyHash: KEY_HASH, prefix: 'x', createdAt: new Date(T + 7) })).toBe(false);
    expect((await store.accounts.listKeys(1)).map((k) => [k.id, k.revokedAt !== null])).toEqual([
      [key.id, true],
      ['key_new', false],
    ]);
    expect(await store.deliveries.recover(1, new Date(T))).toBe(1);
  });

  it('leaves a migrated file at the latest schema version, and opening it again changes nothing', async () => {
    const { file, remove } = tempDatabase();
    cleanups.push(remove);
    databaseAtVersion2(file);
    await new SqliteJobStore({ file }).close();
    const store = new SqliteJobStore({ file });
    cleanups.push(() => store.close());
    expect(await store.accounts.countActiveKeys()).toBe(1);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('refuses a file from a newer Ferry rather than guessing at its schema', async () => {
    const { file, remove } = tempDatabase();
    cleanups.push(remove);
    await new SqliteJobStore({ file }).close();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteJobStore({ file })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });
});
