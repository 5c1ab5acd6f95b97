import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePostgres, requirePostgres, waitFor } from '@ferry/testing';
import { AccountService } from '@ferry/engine';
import { PostgresJobStore } from '@ferry/jobs-postgres';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';
import { listeningUrl, spawnFerry, workerStarted, type FerryProcess } from './test-support/processes.js';

const EXPORTS = 200;
const ACCOUNTS = 3;
/** A few tenths of a second each: long enough that a killed worker is holding some. */
const QUERY = {
  scopes: [{ column: 'street_address' }, { column: 'as_of_week' }, { column: 'asking_rent' }],
  filters: [{ column: 'msa', filter: { equals: 'Seattle, WA' } }],
  orderBy: null,
};

const service = await requirePostgres();

describePostgres('scale-out: one API and several workers on PostgreSQL, as real processes', service, (postgres) => {
  const schema = `ferry_scale_${randomBytes(4).toString('hex')}`;
  const processes: FerryProcess[] = [];
  let dataDir: string;
  let rx: ScriptedReceiver;
  let admin: pg.Client;

  beforeAll(async () => {
    dataDir = await seededDataDir('ferry-scale-');
    rx = await startScriptedReceiver();
    admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await rx?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('completes every export exactly once and delivers every webhook under one id, through a kill -9 of a worker', async () => {
    const config = join(dataDir, 'ferry.config.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir,
        server: { port: 0 },
        jobs: { use: 'postgres', options: { connectionString: postgres.url, schema } },
        notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
      }),
    );
    const keys = [`scale-key-${randomBytes(6).toString('hex')}`];
    const api = spawnFerry(['api', '--config', config], { FERRY_API_KEY: keys[0]! });
    processes.push(api);
    const url = await listeningUrl(api);

    // Two more tenants, made through the same store the processes share.
    const store = await PostgresJobStore.open({ connectionString: postgres.url, schema, poolSize: 2, listen: false, migrate: false });
    try {
      const accounts = new AccountService({ jobs: store });
      for (let i = 1; i < ACCOUNTS; i++) keys.push((await accounts.createKey((await accounts.createAccount(`tenant ${i}`)).id)).key);
    } finally {
      await store.close();
    }

    const worker = () => {
      const p = spawnFerry(['worker', '--config', config], { FERRY_PUBLIC_URL: url });
      processes.push(p);
      return p;
    };
    const workers = [worker(), worker(), worker()];
    await Promise.all(workers.map((w) => workerStarted(w)));

    const ids: string[] = [];
    for (let i = 0; i < EXPORTS; i++) {
      const res = await fetch(`${url}/dataset/export`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keys[i % ACCOUNTS]! },
        body: JSON.stringify({ dataset: QUERY, webhookURL: `${rx.url}/tenant-${i % ACCOUNTS}`, name: `export ${i}`, format: 'csv' }),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { queryUUID: string }).queryUUID);
    }

    // Kill the first worker while it holds running exports: nothing may be lost.
    const victim = workers[0]!;
    const runningOnVictim = async (): Promise<string[]> => {
      const { rows } = await admin.query<{ id: string }>(`SELECT id FROM "${schema}".exports WHERE state = 'running' AND lease_owner LIKE $1`, [
        `%:${victim.child.pid}:%`,
      ]);
      return rows.map((r) => r.id);
    };
    await waitFor('the first worker to be running exports', async () => ((await runningOnVictim()).length > 0 ? true : undefined));
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    // What the dead worker still held (one it finished in the instant before the kill is not among
    // them); nobody else may take these until their lease runs out, seconds from now.
    const held = await runningOnVictim();
    expect(held.length).toBeGreaterThan(0);
    const replacement = worker();
    await workerStarted(replacement);

    await waitFor(
      `all ${EXPORTS} exports to complete`,
      async () => {
        const { rows } = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".exports WHERE state = 'completed'`);
        return Number(rows[0]!.n) === EXPORTS ? true : undefined;
      },
      180_000,
    );

    // Exactly once: one export.completed event per export, and the killed worker's exports were retried.
    const { rows: completedEvents } = await admin.query<{ export_id: string; n: string }>(
      `SELECT export_id, count(*) AS n FROM "${schema}".events WHERE type = 'export.completed' GROUP BY export_id`,
    );
    expect(completedEvents).toHaveLength(EXPORTS);
    expect(completedEvents.every((r) => Number(r.n) === 1)).toBe(true);
    const { rows: retried } = await admin.query<{ id: string; attempts: number; finished_at: Date }>(
      `SELECT id, attempts, finished_at FROM "${schema}".exports WHERE id = ANY($1)`,
      [held],
    );
    for (const r of retried) {
      expect(r.attempts).toBe(2);
      // Short leases: a dead worker's exports are back in seconds, not after a minute.
      expect(r.finished_at.getTime() - killedAt).toBeLessThan(15_000);
    }

    // Every webhook arrives, each export's under one stable webhook-id (repeats allowed, losses not).
    const hits = await waitFor(`a webhook for each of the ${EXPORTS} exports`, () => {
      const byExport = new Map<string, Set<string>>();
      for (const h of rx.hits) {
        const id = (JSON.parse(h.body) as { queryUUID: string }).queryUUID;
        byExport.set(id, (byExport.get(id) ?? new Set()).add(String(h.headers['webhook-id'])));
      }
      return byExport.size === EXPORTS ? byExport : undefined;
    });
    expect([...hits.keys()].sort()).toEqual([...ids].sort());
    expect([...hits.values()].every((webhookIds) => webhookIds.size === 1)).toBe(true);
    // Each tenant's webhooks went to its own path.
    for (let t = 0; t < ACCOUNTS; t++) {
      expect(new Set(rx.to(`/tenant-${t}`).map((h) => (JSON.parse(h.body) as { queryUUID: string }).queryUUID)).size).toBe(
        ids.filter((_, i) => i % ACCOUNTS === t).length,
      );
    }
    // 200 exports through four real processes take 40-55 s on a slow 2-core VM: the suite's 60 s
    // default left no margin, so the test gets the bound its own waits already allow.
  }, 240_000);
});
