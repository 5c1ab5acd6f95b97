import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { OPENAPI_FILE, generateOpenApi } from './openapi-document.js';
import { seededDataDir } from './test-support/data-dir.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const KEY = 'openapi-test-key-123';
const ADMIN = 'openapi-admin-token-0123456789';

type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
type Spec = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

let committed: string;
let spec: Spec;
let dataDir: string;
let ferry: FerryRuntime;
let rx: ScriptedReceiver;

beforeAll(async () => {
  committed = await readFile(OPENAPI_FILE, 'utf8');
  spec = JSON.parse(committed) as Spec;
  dataDir = await seededDataDir('ferry-openapi-');
  rx = await startScriptedReceiver();
  ferry = await startFerry(
    defineConfig({ dataDir, server: { port: 0 }, logLevel: 'silent', notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } } }),
    KEY,
    { adminToken: ADMIN },
  );
});

afterAll(async () => {
  await ferry?.stop();
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the OpenAPI document', () => {
  it('is committed exactly as the code generates it (run `npm run openapi` after changing a route)', async () => {
    expect(await generateOpenApi(await seededDataDir('ferry-openapi-gen-'))).toBe(committed);
  });

  it('is valid OpenAPI 3.1 by an independent validator', async () => {
    const result = await new Validator().validate(spec as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect((spec as unknown as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('documents every route the server answers, and nothing else', () => {
    // Fastify prints its routes as a tree; a child's segment continues its parent's path.
    const served = new Set<string>();
    const prefixes: string[] = [];
    for (const line of ferry.app!.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /^(.*?)── (\S+) \(([A-Z, ]+)\)/.exec(line);
      if (!m) continue;
      const depth = m[1]!.length / 4;
      const path = (prefixes[depth - 1] ?? '') + m[2]!;
      prefixes[depth] = path;
      if (path.startsWith('/docs') || path.startsWith('/ui')) continue;
      for (const method of m[3]!.split(', ')) if (method !== 'HEAD' && method !== 'OPTIONS') served.add(`${method} ${path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    }
    const documented = new Set(Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
  });

  it('answers every route with what its schema declares (checked by ajv against the committed document)', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'spec', components: spec.components });
    const covered = new Set<string>();
    const templates = Object.keys(spec.paths).map((t) => ({ t, re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));

    /** Call a route and check the answer against the document's schema for its status. */
    async function call(method: string, path: string, opts: { body?: unknown; admin?: boolean; key?: string | null } = {}) {
      const headers: Record<string, string> = {};
      if (opts.key !== null) headers['x-api-key'] = opts.key ?? KEY;
      if (opts.admin) headers.authorization = `Bearer ${ADMIN}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${ferry.url}${path}`, { method, headers, redirect: 'manual', body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const template = templates.find(({ re }) => re.test(path.split('?')[0]!))?.t;
      expect(template, `${method} ${path} is documented`).toBeDefined();
      const operation = spec.paths[template!]![method.toLowerCase()]!;
      const declared = operation.responses[String(res.status)];
      expect(declared, `${method} ${template} declares status ${res.status}`).toBeDefined();
      covered.add(`${method} ${template}`);
      const json = declared!.content?.['application/json']?.schema;
      const text = await res.text();
      if (!json) return { status: res.status, json: null as never, text };
      const validate = ajv.compile(rewriteRefs(json) as object);
      const body = JSON.parse(text) as unknown;
      expect(validate(body), `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      return { status: res.status, json: body as Record<string, unknown> & { data: Array<Record<string, unknown>> }, text };
    }

    expect((await call('GET', '/healthz', { key: null })).status).toBe(200);
    expect((await call('GET', '/readyz', { key: null })).status).toBe(200);
    expect((await call('GET', '/metrics', { key: null })).status).toBe(403);
    expect((await call('GET', '/metrics', { admin: true, key: null })).status).toBe(200);
    expect((await call('GET', '/openapi.json', { key: null })).status).toBe(200);

    const account = await call('POST', '/admin/accounts', { admin: true, body: { name: 'tenant' } });
    expect(account.status).toBe(201);
    await call('GET', '/admin/accounts', { admin: true });
    await call('GET', '/admin/schedules', { admin: true });
    const adminKey = await call('POST', `/admin/accounts/${account.json.id as number}/keys`, { admin: true });
    await call('GET', `/admin/accounts/${account.json.id as number}/keys`, { admin: true });
    expect((await call('DELETE', `/admin/keys/${adminKey.json.id as string}`, { admin: true })).status).toBe(204);
    const own = await call('POST', '/keys');
    await call('GET', '/keys');
    expect((await call('DELETE', `/keys/${own.json.id as string}`)).status).toBe(204);

    await call('GET', '/datasets');
    await call('GET', '/datasets/rentals');

    const submitted = await call('POST', '/dataset/export', {
      body: { dataset: { scopes: [{ column: 'msa' }], limit: 3 }, webhookURL: `${rx.url}/hook`, name: 'documented', format: 'csv' },
    });
    expect(submitted.status).toBe(201);
    const id = submitted.json.queryUUID as string;
    await waitFor('the export to complete', async () => ((await call('GET', `/dataset/export/${id}`)).json.state === 'completed' ? true : undefined));
    await call('GET', '/dataset/export?limit=5');
    expect((await call('POST', `/dataset/export/${id}/cancel`)).status).toBe(409);
    const link = ((await call('GET', `/dataset/export/${id}`)).json.download as { url: string }).url;
    expect((await call('GET', new URL(link).pathname, { key: null })).status).toBe(200);

    const endpoint = await call('POST', '/webhooks/endpoints', { body: { url: `${rx.url}/events`, events: ['export.*'] } });
    const endpointId = endpoint.json.id as string;
    await call('GET', '/webhooks/endpoints');
    await call('GET', `/webhooks/endpoints/${endpointId}`);
    await call('PATCH', `/webhooks/endpoints/${endpointId}`, { body: { description: 'documented' } });
    await call('POST', `/webhooks/endpoints/${endpointId}/rotate-secret`);
    const deliveries = await call('GET', '/webhooks/deliveries');
    const deliveryId = deliveries.json.data[0]!.id as string;
    await call('GET', `/webhooks/deliveries/${deliveryId}`);
    expect((await call('POST', `/webhooks/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
    await call('POST', '/webhooks/deliveries/recover', { body: { since: '2020-01-01T00:00:00Z' } });
    await call('GET', '/webhooks/stats');
    expect((await call('DELETE', `/webhooks/endpoints/${endpointId}`)).status).toBe(204);
    await call('GET', '/events?limit=10');

    expect((await call('POST', '/datasets/rentals/versions')).status).toBe(403);
    const version = await call('POST', '/datasets/rentals/versions', { admin: true });
    expect(version.status).toBe(201);
    expect((await call('GET', '/datasets/rentals/versions')).json.data).toHaveLength(1);
    expect((await call('GET', `/sync/rentals/deltas?since=${encodeURIComponent(version.json.cursor as string)}`)).status).toBe(200);
    expect((await call('GET', '/sync/rentals/snapshot?cursor=unknown')).status).toBe(404);

    const schedule = await call('POST', '/exports/schedules', {
      body: { dataset: { scopes: [{ column: 'msa' }], limit: 3 }, webhookURL: `${rx.url}/scheduled`, name: 'nightly', format: 'csv', cron: '0 3 * * *' },
    });
    expect(schedule.status).toBe(201);
    await call('GET', '/exports/schedules');
    await call('GET', `/exports/schedules/${schedule.json.id as string}`);
    expect((await call('DELETE', `/exports/schedules/${schedule.json.id as string}`)).status).toBe(204);

    const operations = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.filter((op) => !covered.has(op))).toEqual([]);
  });
});

/** The document's refs point at `#/components/schemas/X`; inside the ajv schema they live under `spec`. */
function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"spec#/components/schemas/')) as unknown;
}
