import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JobStore, NewExportJob, WorkKind } from '@ferry/core';
import { describePostgres, requirePostgres, waitFor } from '@ferry/testing';
import type { PostgresJobStore } from './postgres-job-store.js';
import { newSchemaName, StoreFixture } from './test-support.js';
import { workChannel } from './session.js';
import { WorkSignals } from './work-signals.js';
import { silentLogger } from '@ferry/core';

const service = await requirePostgres();

function exportFor(accountId: number, id: string): NewExportJob {
  return {
    id,
    accountId,
    name: 'wake-up',
    format: 'csv',
    compression: 'gzip',
    webhookUrl: 'https://hooks.example.com/ferry',
    endpointId: 'ep_x',
    datasetKey: 'rentals',
    query: { filters: [] },
    hmacSignature: 'a'.repeat(64),
    requestedAt: new Date(),
    notifyOnFailure: false,
    split: null,
  };
}

/** Counts the wake-ups a store's `onWork` delivers, per kind. */
function countWakeUps(store: JobStore): Record<WorkKind, number> {
  const counts: Record<WorkKind, number> = { exports: 0, deliveries: 0 };
  expect(store.onWork).toBeTypeOf('function');
  store.onWork!('exports', () => counts.exports++);
  store.onWork!('deliveries', () => counts.deliveries++);
  return counts;
}

/** The LISTEN connection is up (and has run LISTEN) once the store reports its backend pid. */
const listening = (store: PostgresJobStore) => waitFor('the LISTEN connection', () => store.listenerBackendPid ?? undefined);

describePostgres('postgres job store: wake-ups with LISTEN/NOTIFY', service, (server) => {
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

  async function endpointOf(store: JobStore, accountId: number, id: string): Promise<void> {
    await store.endpoints.insert({
      id,
      accountId,
      url: 'https://hooks.example.com/events',
      scheme: 'standard-webhooks',
      secrets: [],
      events: ['*'],
      description: null,
      registered: true,
      scheduleMs: null,
      createdAt: new Date(),
    });
  }

  const delivery = (accountId: number, endpointId: string, id: string) => ({
    id,
    accountId,
    endpointId,
    messageId: id,
    exportId: null,
    eventType: 'export.completed',
    body: '{}',
    headers: {},
    createdAt: new Date(),
  });

  it('a listener on one store wakes when another store (its own pool) queues an export or a delivery', async () => {
    const schema = fixture.location();
    const listener = await fixture.open(schema);
    const writer = await fixture.open(schema, { listen: false });
    const counts = countWakeUps(listener);
    await listening(listener);
    const account = await writer.accounts.create({ name: null, createdAt: new Date() });
    await writer.exports.insert(exportFor(account.id, '6f1c2a8e-0000-4000-8000-000000000001'));
    await waitFor('an exports wake-up', () => (counts.exports > 0 ? true : undefined));
    await endpointOf(writer, account.id, 'ep_wake');
    await writer.deliveries.insert([delivery(account.id, 'ep_wake', 'msg_wake_1')]);
    await waitFor('a deliveries wake-up', () => (counts.deliveries > 0 ? true : undefined));
  });

  it('the wake-up is sent at commit: a rolled-back insert wakes nobody', async () => {
    const schema = fixture.location();
    const listener = await fixture.open(schema);
    const writer = await fixture.open(schema, { listen: false });
    const account = await writer.accounts.create({ name: null, createdAt: new Date() });
    await endpointOf(writer, account.id, 'ep_rollback');
    const counts = countWakeUps(listener);
    await listening(listener);
    const boom = new Error('changed my mind');
    await expect(
      writer.transaction(async (tx) => {
        await tx.exports.insert(exportFor(account.id, '6f1c2a8e-0000-4000-8000-000000000002'));
        throw boom;
      }),
    ).rejects.toBe(boom);
    // Notifications reach a listener in commit order: once this later one arrives, an exports
    // wake-up from the rolled-back transaction would have arrived before it.
    await writer.deliveries.insert([delivery(account.id, 'ep_rollback', 'msg_after_rollback')]);
    await waitFor('a deliveries wake-up', () => (counts.deliveries > 0 ? true : undefined));
    expect(counts.exports).toBe(0);
    expect(await writer.exports.get('6f1c2a8e-0000-4000-8000-000000000002')).toBeNull();
  });

  it('stores on another schema of the same database do not wake each other', async () => {
    const [mine, theirs] = [fixture.location(), fixture.location()];
    const listener = await fixture.open(mine);
    const writer = await fixture.open(mine, { listen: false });
    const stranger = await fixture.open(theirs, { listen: false });
    const counts = countWakeUps(listener);
    await listening(listener);
    const strangerAccount = await stranger.accounts.create({ name: null, createdAt: new Date() });
    await stranger.exports.insert(exportFor(strangerAccount.id, '6f1c2a8e-0000-4000-8000-000000000003'));
    const account = await writer.accounts.create({ name: null, createdAt: new Date() });
    await endpointOf(writer, account.id, 'ep_mine');
    await writer.deliveries.insert([delivery(account.id, 'ep_mine', 'msg_mine')]);
    await waitFor('a deliveries wake-up', () => (counts.deliveries > 0 ? true : undefined));
    expect(counts.exports).toBe(0);
  });

  it('the LISTEN connection comes back after the server drops it, and wakes listeners again', async () => {
    const schema = fixture.location();
    const listener = await fixture.open(schema);
    const writer = await fixture.open(schema, { listen: false });
    const counts = countWakeUps(listener);
    const before = await listening(listener);
    await admin.query('SELECT pg_terminate_backend($1)', [before]);
    const after = await waitFor('a new LISTEN connection', () => {
      const pid = listener.listenerBackendPid;
      return pid !== null && pid !== before ? pid : undefined;
    });
    expect(after).not.toBe(before);
    const seen = counts.exports;
    const account = await writer.accounts.create({ name: null, createdAt: new Date() });
    await writer.exports.insert(exportFor(account.id, '6f1c2a8e-0000-4000-8000-000000000004'));
    await waitFor('an exports wake-up after reconnecting', () => (counts.exports > seen ? true : undefined));
  });

  it('with listen: false nothing listens, onWork is absent, and claims still work by polling', async () => {
    const schema = fixture.location();
    const store = await fixture.open(schema, { listen: false });
    expect(store.onWork).toBeUndefined();
    expect(store.listenerBackendPid).toBeNull();
    const listeners = await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [`ferry-listen:${schema}`]);
    expect(Number(listeners.rows[0].n)).toBe(0);
    const account = await store.accounts.create({ name: null, createdAt: new Date() });
    await store.exports.insert(exportFor(account.id, '6f1c2a8e-0000-4000-8000-000000000005'));
    const claimed = await store.exports.claim('w1', { limit: 5, leaseMs: 60_000, maxRunningPerAccount: 5 });
    expect(claimed.map((j) => j.id)).toEqual(['6f1c2a8e-0000-4000-8000-000000000005']);
  });

  it('with listen: true the store keeps exactly one LISTEN connection, named for its schema', async () => {
    const schema = fixture.location();
    const store = await fixture.open(schema);
    countWakeUps(store);
    const pid = await listening(store);
    const row = await admin.query('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [pid]);
    expect(row.rows[0]?.application_name).toBe(`ferry-listen:${schema}`);
    countWakeUps(store);
    expect(store.listenerBackendPid).toBe(pid);
    const listeners = await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [`ferry-listen:${schema}`]);
    expect(Number(listeners.rows[0].n)).toBe(1);
  });

  /** A LISTEN client on `channels`, counting what it hears per channel. */
  async function hear(channels: readonly string[]): Promise<{ heard: Map<string, number>; end(): Promise<void> }> {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const heard = new Map<string, number>();
    client.on('notification', (m) => heard.set(m.channel, (heard.get(m.channel) ?? 0) + 1));
    for (const c of channels) await client.query(`LISTEN "${c}"`);
    return { heard, end: () => client.end() };
  }

  it('announcements made while one NOTIFY is on its way become one more NOTIFY, not one each', async () => {
    const schema = newSchemaName();
    const [exports, deliveries, done] = [workChannel(schema, 'exports'), workChannel(schema, 'deliveries'), `${schema}:done`];
    const listener = await hear([exports, deliveries, done]);
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    try {
      const signals = new WorkSignals(pool, schema, silentLogger, []);
      for (let i = 0; i < 100; i++) signals.announce('exports');
      signals.announce('deliveries');
      await signals.close();
      signals.announce('exports'); // after close: dropped, the pool may be ending
      // Notifications arrive in commit order: once the later one is heard, all of the above were.
      await admin.query(`NOTIFY "${done}"`);
      await waitFor('the closing notification', () => listener.heard.get(done));
      // The first is sent at once; the other 99 arrive while it is on its way and make one more.
      expect(listener.heard.get(exports)).toBe(2);
      expect(listener.heard.get(deliveries)).toBe(1);
    } finally {
      await listener.end();
      await pool.end();
    }
  });

  it('work made in a transaction is announced after COMMIT, not while the transaction is open', async () => {
    const schema = fixture.location();
    const writer = await fixture.open(schema, { listen: false });
    const account = await writer.accounts.create({ name: null, createdAt: new Date() });
    const listener = await hear([workChannel(schema, 'exports')]);
    try {
      let heardBeforeCommit: number | undefined;
      await writer.transaction(async (tx) => {
        await tx.exports.insert(exportFor(account.id, '6f1c2a8e-0000-4000-8000-000000000006'));
        // A NOTIFY sent now (outside this transaction) would be heard once this round trip returns.
        await admin.query('SELECT pg_sleep(0.05)');
        heardBeforeCommit = listener.heard.get(workChannel(schema, 'exports')) ?? 0;
      });
      expect(heardBeforeCommit).toBe(0);
      await waitFor('the wake-up after commit', () => listener.heard.get(workChannel(schema, 'exports')));
    } finally {
      await listener.end();
    }
  });
});
