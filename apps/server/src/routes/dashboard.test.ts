import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerOpenApi, serializerCompiler, validatorCompiler } from '../openapi.js';
import { dashboardDir, dashboardRoutes } from './dashboard.js';

let app: FastifyInstance | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await app?.close();
  app = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A server with the OpenAPI document and the dashboard routes over `dir`, logging into `logs`. */
async function serve(dir: string | null): Promise<{ app: FastifyInstance; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  app = Fastify({ logger: { level: 'info', stream: sink } });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerOpenApi(app, '0.0.0-test');
  dashboardRoutes(app, dir);
  await app.ready();
  return { app, logs };
}

async function builtDashboard(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-dashboard-dist-'));
  dirs.push(dir);
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Ferry</title><script type="module" src="./assets/index-abc123.js"></script>');
  await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log("ferry")');
  return dir;
}

describe('the dashboard at /ui/', () => {
  it('serves the built page and its assets: the page checked every time, the hashed assets cached for good', async () => {
    const { app } = await serve(await builtDashboard());
    const redirect = await app.inject({ url: '/ui' });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('ui/');

    const page = await app.inject({ url: '/ui/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<title>Ferry</title>');
    expect(page.headers['cache-control']).toBe('no-cache');

    const asset = await app.inject({ url: '/ui/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');

    expect((await app.inject({ url: '/ui/assets/missing.js' })).statusCode).toBe(404);
  });

  it('runs only its own scripts and talks only to this API (a strict Content-Security-Policy), and cannot be framed', async () => {
    const { app } = await serve(await builtDashboard());
    for (const url of ['/ui/', '/ui/assets/index-abc123.js']) {
      const res = await app.inject({ url });
      expect(res.headers['content-security-policy']).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      );
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('serves nothing outside its folder', async () => {
    const dir = await builtDashboard();
    await writeFile(join(dir, '..', `${dir.split('/').pop()}-secret.txt`), 'not for the web');
    const { app } = await serve(dir);
    for (const url of ['/ui/../package.json', `/ui/..%2f${dir.split('/').pop()}-secret.txt`, '/ui/%2e%2e/%2e%2e/etc/passwd']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.body).not.toContain('not for the web');
    }
    await rm(join(dir, '..', `${dir.split('/').pop()}-secret.txt`), { force: true });
  });

  it('serves a rebuild without a restart', async () => {
    const dir = await builtDashboard();
    const { app } = await serve(dir);
    await writeFile(join(dir, 'assets', 'index-def456.js'), 'console.log("rebuilt")');
    const res = await app.inject({ url: '/ui/assets/index-def456.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log("rebuilt")');
  });

  it('keeps every /ui route out of the OpenAPI document', async () => {
    const { app } = await serve(await builtDashboard());
    const document = app.swagger() as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
    const notBuilt = await serve(null);
    expect(Object.keys((notBuilt.app.swagger() as { paths: Record<string, unknown> }).paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
  });

  it('says how to build it, on /ui/ and in the log, when it is not built', async () => {
    const missing = join(tmpdir(), 'ferry-dashboard-never-built', 'dist');
    const { app, logs } = await serve(missing);
    expect(logs.join('')).toContain('the dashboard is not built');
    expect(logs.join('')).toContain('npm run build:dashboard');
    for (const url of ['/ui/', '/ui/assets/index.js']) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('The dashboard is not built');
      expect(res.body).toContain('npm run build:dashboard');
    }
  });

  it("finds the workspace's dashboard package by default", () => {
    expect(dashboardDir()).toMatch(/packages[\\/]dashboard[\\/]dist$/);
  });
});
