import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { SqliteJobStore } from '@ferry/jobs-sqlite';
import { buildOperationsServer, FerryMetrics, type ReadinessCheck } from '@ferry/server';

const ADMIN = 'operations-admin-token-0123456789';
const open: Array<{ app: FastifyInstance; jobs: SqliteJobStore; dir: string }> = [];

afterEach(async () => {
  for (const { app, jobs, dir } of open.splice(0)) {
    await app.close();
    await jobs.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** What a worker serves on its operations port, over a real job store. */
async function operations(opts: { adminToken?: string; checks?: ReadinessCheck[] }): Promise<FastifyInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-operations-'));
  const jobs = new SqliteJobStore({ file: join(dir, 'jobs.db') });
  const checks = opts.checks ?? [{ part: 'jobs:sqlite', ok: true }];
  const app = buildOperationsServer({ logger: pino({ level: 'silent' }), adminToken: opts.adminToken, metrics: new FerryMetrics(jobs), readiness: async () => checks, version: '0.0.0-test' });
  open.push({ app, jobs, dir });
  await app.ready();
  return app;
}

describe('the operations routes', () => {
  it('/readyz answers 503 "unready" when any one part fails, naming it, and 200 only when all answer', async () => {
    const failing: ReadinessCheck[] = [
      { part: 'jobs:sqlite', ok: true },
      { part: 'store:s3', ok: false, error: 'connect ECONNREFUSED' },
      { part: 'source:default', ok: true },
    ];
    const down = await (await operations({ checks: failing })).inject({ url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'unready', checks: failing });

    const up = await (await operations({ checks: [{ part: 'jobs:sqlite', ok: true }, { part: 'store:local', ok: true }] })).inject({ url: '/readyz' });
    expect(up.statusCode).toBe(200);
    expect(up.json()).toEqual({ status: 'ready', checks: [{ part: 'jobs:sqlite', ok: true }, { part: 'store:local', ok: true }] });
  });

  it('/metrics is open where no admin token is configured (its documented rule: "needs the admin token when one is configured")', async () => {
    const res = await (await operations({})).inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('# TYPE ferry_exports_total counter');
  });

  it('/metrics needs the admin token once one is configured; an API key or a wrong token is refused', async () => {
    const app = await operations({ adminToken: ADMIN });
    for (const headers of [{}, { 'x-api-key': 'an-account-key-0123456789' }, { authorization: 'Bearer not-the-token' }]) {
      const refused = await app.inject({ url: '/metrics', headers });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    const ok = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('ferry_exports_total');
  });

  it('/healthz answers whatever the parts say: liveness is the process alone', async () => {
    const res = await (await operations({ checks: [{ part: 'jobs:sqlite', ok: false, error: 'locked' }] })).inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });
});
