import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { describeWithService, waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime } from '../../../apps/cli/src/runtime.js';
import { defineConfig } from '../../../apps/cli/src/config.js';
import { seededDataDir } from '../../../apps/cli/src/test-support/data-dir.js';
import { startScriptedReceiver, type ScriptedReceiver } from '../../../apps/cli/src/test-support/scripted-receiver.js';

/**
 * The dashboard, end to end, as a person uses it: Debian's Chromium (headless, driven by
 * playwright-core) against real Ferry servers and a webhook receiver, all on 127.0.0.1. The
 * browser may reach nothing else: any other request fails the test. Each test signs in to a fresh
 * browser context (its own sessionStorage) and, where it creates data, uses an account of its own,
 * so the tests hold in any order. Screenshots of each page go to tmp/screenshots/.
 */

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHOTS = `${ROOT}tmp/screenshots/`;
const KEY = 'dashboard-test-key-0123';
const ADMIN = 'dashboard-admin-token-0123456789';
const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

// Run in the page (as expressions: this file is type-checked for Node, without the DOM's types).
const ACTIVE_ID = 'document.activeElement?.id';
const ACTIVE_TEXT = 'document.activeElement?.textContent';
/** Form controls and buttons with no name a screen reader could announce. */
const UNNAMED_CONTROLS = `[...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))`;

/** The outermost elements that stick out past the right edge (to say what overflows). */
const WIDE_ELEMENTS = `[...document.querySelectorAll('main *, header *')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && el.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
  .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + Math.round(el.getBoundingClientRect().width) + 'px')
  .join(', ')`;

const chromiumService = {
  label: `Chromium at ${CHROMIUM}`,
  value: CHROMIUM,
  unavailable: existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`,
};

let browser: Browser;
let ferry: FerryRuntime;
/** An API-only server: nothing claims its exports, so they stay queued (for the queue and cancel views). */
let idle: FerryRuntime;
let rx: ScriptedReceiver;
const dataDirs: string[] = [];
const contexts: Array<{ context: BrowserContext; offHost: string[]; errors: string[] }> = [];

type Json = Record<string, unknown>;

async function api(base: string, method: string, path: string, auth: { key?: string; admin?: boolean }, body?: unknown): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = {};
  if (auth.key) headers['x-api-key'] = auth.key;
  if (auth.admin) headers.authorization = `Bearer ${ADMIN}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Json) : {} };
}

/** A new account with a key, through the admin API: a test's data stays its own. */
async function tenant(base: string, name: string): Promise<string> {
  const account = await api(base, 'POST', '/admin/accounts', { admin: true }, { name });
  expect(account.status).toBe(201);
  const key = await api(base, 'POST', `/admin/accounts/${account.json.id as number}/keys`, { admin: true });
  expect(key.status).toBe(201);
  return key.json.key as string;
}

async function submitExport(base: string, key: string, name: string, webhookPath = '/export-hook'): Promise<string> {
  const res = await api(base, 'POST', '/dataset/export', { key }, { dataset: { scopes: [{ column: 'msa' }], limit: 3 }, webhookURL: `${rx.url}${webhookPath}`, name, format: 'csv' });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.queryUUID as string;
}

/** A fresh context (its own storage) whose page may only reach 127.0.0.1; confirmation dialogs are accepted. */
async function openPage(viewport = LAPTOP): Promise<{ page: Page; context: BrowserContext; requests: string[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const offHost: string[] = [];
  const errors: string[] = [];
  contexts.push({ context, offHost, errors });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    offHost.push(url.href);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, context, requests };
}

async function signIn(page: Page, base: string, key: string, adminToken?: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.getByLabel('API key', { exact: true }).fill(key);
  if (adminToken) await page.getByLabel('Admin token (optional)').fill(adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
}

async function go(page: Page, base: string, path: string, heading: string | RegExp): Promise<void> {
  await page.goto(`${base}/ui/#${path}`);
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

/** Until every "Loading…" notice of the page is gone (the page shows what it loaded). */
async function loaded(page: Page): Promise<void> {
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Loading' }).count()).toBe(0);
}

async function shot(page: Page, name: string): Promise<void> {
  await loaded(page);
  // From the top, so sticky parts sit where a person first sees them.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

describeWithService('the dashboard in Chromium', chromiumService, (executablePath) => {
  beforeAll(async () => {
    // The suite checks what `npm install` builds: the same command, from the sources in the tree.
    await promisify(execFile)('npm', ['run', 'build:dashboard'], { cwd: ROOT });
    await mkdir(SHOTS, { recursive: true });
    rx = await startScriptedReceiver();
    dataDirs.push(await seededDataDir('ferry-dashboard-'), await seededDataDir('ferry-dashboard-idle-'));
    // Beside the sample rentals (a million rows), a small dataset whose versions publish in a moment.
    const stations = `${dataDirs[0]}/stations.csv`;
    await writeFile(stations, ['id,name,city,docks,opened_on', ...Array.from({ length: 40 }, (_, i) => `${i + 1},Station ${i + 1},${i % 2 ? 'Seattle' : 'Tacoma'},${10 + i},2024-0${(i % 9) + 1}-01`)].join('\n'));
    const config = (dataDir: string, extra: Partial<Parameters<typeof defineConfig>[0]> = {}) =>
      defineConfig({
        dataDir,
        server: { port: 0 },
        logLevel: 'silent',
        notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
        deliveries: { timeoutMs: 2_000 },
        ...extra,
      });
    const stationsDataset = {
      key: 'stations',
      description: 'Bike stations (a small dataset made by the test)',
      relation: { file: stations },
      primaryKey: ['id'],
      columns: [
        { name: 'id', type: 'integer' as const, role: 'dimension' as const },
        { name: 'name', type: 'string' as const, role: 'dimension' as const },
        { name: 'city', type: 'string' as const, role: 'dimension' as const },
        { name: 'docks', type: 'integer' as const, role: 'measure' as const },
        { name: 'opened_on', type: 'date' as const, role: 'time' as const },
      ],
    };
    ferry = await startFerry(config(dataDirs[0]!, { defaultDataset: 'rentals', datasets: [stationsDataset] }), KEY, { adminToken: ADMIN, deliveryWorker: { pollMs: 50 } });
    idle = await startFerry(config(dataDirs[1]!), KEY, { role: 'api', adminToken: ADMIN });
    browser = await chromium.launch({
      executablePath,
      headless: true,
      // Debian's Chromium as root, with no background traffic to Google's hosts (the network is closed).
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    // A build, two servers and a browser: on a busy 2-core machine this takes longer than most hooks.
  }, 240_000);

  afterEach(async () => {
    const offHost = contexts.flatMap((c) => c.offHost);
    const errors = contexts.flatMap((c) => c.errors);
    await Promise.all(contexts.splice(0).map((c) => c.context.close()));
    expect(offHost, 'the dashboard requested a host other than 127.0.0.1').toEqual([]);
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await ferry?.stop();
    await idle?.stop();
    await rx?.close();
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  });

  it('signs in with the API key, keeps it in sessionStorage only, and sends it only as a header', { timeout: 120_000 }, async () => {
    const { page, context, requests } = await openPage();
    const sentWithKey: string[] = [];
    page.on('request', (r) => {
      if (r.headers()['x-api-key'] === KEY) sentWithKey.push(r.url());
    });
    await page.goto(`${ferry.url}/ui/`);
    await shot(page, 'sign-in');

    // A wrong key is refused with the API's code.
    await page.getByLabel('API key', { exact: true }).fill('not-a-key-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('UNAUTHORIZED');

    // The keyboard alone signs in: the key field, the admin token field, then Enter.
    await page.getByLabel('API key', { exact: true }).fill('');
    await page.getByLabel('API key', { exact: true }).focus();
    await page.keyboard.type(KEY);
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate(ACTIVE_ID)).toBe('admin-token');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await shot(page, 'overview');

    expect(page.url()).not.toContain(KEY);
    expect(requests.filter((u) => u.includes(KEY))).toEqual([]);
    expect(sentWithKey.length).toBeGreaterThan(0);
    expect(await context.cookies()).toEqual([]);
    expect(await page.evaluate('JSON.stringify(localStorage)')).toBe('{}');
    expect(await page.evaluate('JSON.stringify(sessionStorage)')).toContain(KEY);

    // A reload keeps the session; signing out forgets the key.
    await page.reload();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key', { exact: true }).waitFor();
    expect(await page.evaluate('JSON.stringify(sessionStorage)')).not.toContain(KEY);

    // Another browsing session (a new tab's storage) starts signed out.
    const other = await openPage();
    await other.page.goto(`${ferry.url}/ui/`);
    await other.page.getByLabel('API key', { exact: true }).waitFor();
  });

  it('builds an export in the query builder, shows its JSON and curl, submits it, follows it to completed and downloads its rows', { timeout: 120_000 }, async () => {
    const key = await tenant(ferry.url!, 'builder');
    const { page } = await openPage();
    await signIn(page, ferry.url!, key);
    await go(page, ferry.url!, '/new', 'New export');
    await page.getByLabel('Dataset', { exact: true }).selectOption('rentals');

    const column = (n: number) => page.getByRole('group', { name: `Column ${n}`, exact: true });
    await column(1).getByLabel('Column', { exact: true }).selectOption('msa');
    await page.getByRole('button', { name: 'Add column' }).click();
    await column(2).getByLabel('Column', { exact: true }).selectOption('as_of_week');
    await column(2).getByLabel('Time bucket', { exact: true }).selectOption('month');
    await page.getByRole('button', { name: 'Add column' }).click();
    await column(3).getByLabel('Column', { exact: true }).selectOption('asking_rent');
    await column(3).getByLabel('Aggregate', { exact: true }).selectOption('Avg');
    await column(3).getByLabel('Output name (optional)', { exact: true }).fill('avg_rent');

    const filter = (n: number) => page.getByRole('group', { name: `Filter ${n}`, exact: true });
    await page.getByRole('button', { name: 'Add filter' }).click();
    await filter(1).getByLabel('Column', { exact: true }).selectOption('msa');
    await filter(1).getByLabel('Operator', { exact: true }).selectOption('equals');
    await filter(1).getByLabel('Value', { exact: true }).fill('Seattle, WA');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await filter(2).getByLabel('Column', { exact: true }).selectOption('bed');
    await filter(2).getByLabel('Operator', { exact: true }).selectOption('between');
    await filter(2).getByLabel('From', { exact: true }).fill('1');
    await filter(2).getByLabel('To', { exact: true }).fill('2');

    await page.getByRole('button', { name: 'Add sort key' }).click();
    await page.getByRole('group', { name: 'Sort key 1' }).getByLabel('Sort by', { exact: true }).selectOption('as_of_week_month');
    await page.getByRole('group', { name: 'Sort key 1' }).getByLabel('Direction', { exact: true }).selectOption('desc');
    await page.getByLabel('Row limit (optional)').fill('6');
    await page.getByLabel('Export name').fill('Seattle rents by month');
    await page.getByLabel('Format').selectOption('csv');
    await page.getByLabel('Compression').selectOption('none');
    await page.getByLabel('Webhook URL').fill(`${rx.url}/builder-hook`);

    const expected = {
      dataset: {
        from: 'rentals',
        scopes: [{ column: 'msa' }, { column: 'as_of_week', granularity: 'month' }, { column: 'asking_rent', aggregate: 'Avg', alias: 'avg_rent' }],
        filters: [
          { column: 'msa', filter: { equals: 'Seattle, WA' } },
          { column: 'bed', filter: { between: [1, 2] } },
        ],
        orderBy: [{ column: 'as_of_week_month', direction: 'desc' }],
        limit: 6,
      },
      webhookURL: `${rx.url}/builder-hook`,
      name: 'Seattle rents by month',
      format: 'csv',
      compression: 'none',
    };
    expect(JSON.parse((await page.getByTestId('request-json').textContent())!)).toEqual(expected);
    await shot(page, 'new-export');

    // The curl command shown is the same request: run by a shell, it submits an equal export.
    const curl = (await page.getByTestId('curl').textContent())!;
    expect(curl).not.toContain(key);
    const { stdout } = await promisify(execFile)('bash', ['-c', curl], { env: { ...process.env, FERRY_API_KEY: key } });
    const viaCurl = (JSON.parse(stdout) as { queryUUID: string }).queryUUID;

    await page.getByRole('button', { name: 'Submit export' }).click();
    await page.waitForURL(/#\/exports\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;
    // The page follows the export by itself (polling): no reload.
    await page.locator('.stat .badge', { hasText: 'completed' }).waitFor({ timeout: 90_000 });

    const status = (await api(ferry.url!, 'GET', `/dataset/export/${id}`, { key })).json as { numberRows: number; files: Array<{ rows: number; sha256: string; fileName: string }> };
    expect(status.numberRows).toBe(6);
    const file = status.files[0]!;
    const files = page.getByRole('region', { name: 'Files, table' });
    await expect.poll(() => files.textContent()).toContain(file.sha256);
    expect(await files.getByRole('row').nth(1).getByRole('cell').nth(1).textContent()).toBe('6');

    const [download] = await Promise.all([page.waitForEvent('download'), files.getByRole('link', { name: `Download ${file.fileName}` }).click()]);
    const bytes = await readFile((await download.path())!);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    const [header, ...rows] = bytes.toString('utf8').trimEnd().split('\n');
    expect(header).toBe('msa,as_of_week_month,avg_rent');
    expect(rows).toHaveLength(6);
    const months = rows.map((r) => r.split(',')[2]!.replaceAll('"', ''));
    for (const row of rows) expect(row.startsWith('"Seattle, WA",')).toBe(true);
    expect(months).toEqual([...months].sort().reverse());

    // The download shows on the timeline; the export's webhook delivery shows with its attempt.
    await expect.poll(() => page.locator('.timeline').textContent(), { timeout: 15_000 }).toContain('Downloaded');
    const deliveries = page.getByRole('article', { name: 'Delivery export.completed' });
    await expect.poll(() => deliveries.getByRole('region', { name: /Attempts of/ }).textContent(), { timeout: 15_000 }).toContain('200');
    await expect.poll(() => page.getByLabel('Export request').textContent()).toContain('"avg_rent"');
    await shot(page, 'export-detail');

    // The export the curl command submitted wrote the same file.
    const curlDone = await waitFor('the curl export to complete', async () => {
      const s = await api(ferry.url!, 'GET', `/dataset/export/${viaCurl}`, { key });
      return s.json.state === 'completed' ? (s.json as { files: Array<{ url: string }> }) : undefined;
    });
    expect(Buffer.from(await (await fetch(curlDone.files[0]!.url)).arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("shows the API's error code and the field's path, and marks the field", { timeout: 120_000 }, async () => {
    const key = await tenant(ferry.url!, 'mistakes');
    const { page } = await openPage();
    await signIn(page, ferry.url!, key);
    await go(page, ferry.url!, '/new', 'New export');
    await page.getByRole('button', { name: 'Add filter' }).click();
    const filter = page.getByRole('group', { name: 'Filter 1', exact: true });
    await filter.getByLabel('Column', { exact: true }).selectOption('year_built');
    await filter.getByLabel('Value', { exact: true }).fill('nineteen-sixty');
    await page.getByLabel('Export name').fill('a typo');
    await page.getByLabel('Webhook URL').fill(`${rx.url}/never`);
    await page.getByRole('button', { name: 'Submit export' }).click();

    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('TYPE_MISMATCH');
    expect(await alert.locator('.error-path').textContent()).toBe('dataset.filters[0].filter.equals');
    expect(await filter.getByLabel('Value', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await shot(page, 'new-export-error');
  });

  it('lists exports with filters, shows the queue on the overview, and cancels a queued export', { timeout: 120_000 }, async () => {
    const key = await tenant(idle.url!, 'queue');
    await submitExport(idle.url!, key, 'alpha nightly');
    await submitExport(idle.url!, key, 'beta weekly');
    const { page } = await openPage();
    await signIn(page, idle.url!, key);
    const stats = page.locator('.stat');
    await expect.poll(() => stats.filter({ hasText: 'Queued exports' }).textContent()).toContain('2');
    await expect.poll(() => stats.filter({ hasText: 'Oldest queued' }).textContent()).toMatch(/\d+ s|min/);
    await shot(page, 'overview-queue');

    await go(page, idle.url!, '/exports', 'Exports');
    const table = page.getByRole('region', { name: 'Exports' });
    await expect.poll(() => table.getByRole('row').count()).toBe(3);
    await page.getByLabel('Name contains').fill('beta');
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    await shot(page, 'exports');
    await table.getByRole('button', { name: 'Cancel beta weekly' }).click();
    await expect.poll(() => table.textContent()).toContain('cancelled by request');

    await page.getByLabel('Name contains').fill('');
    await page.getByLabel('State').selectOption('queued');
    expect(page.url()).toContain('state=queued');
    await expect.poll(() => table.textContent()).not.toContain('beta weekly');
    expect(await table.textContent()).toContain('alpha nightly');
    await page.getByLabel('State').selectOption('completed');
    await page.getByText('No export matches these filters.').waitFor();
  });

  it('creates an endpoint, shows its secret once, and that secret verifies what the endpoint receives', { timeout: 120_000 }, async () => {
    const key = await tenant(ferry.url!, 'endpoints');
    const { page } = await openPage();
    await signIn(page, ferry.url!, key);
    await go(page, ferry.url!, '/endpoints', 'Endpoints');
    await page.getByLabel('Endpoint URL').fill(`${rx.url}/orders-hook`);
    await page.getByLabel('Description (optional)').fill('Orders receiver');
    await page.getByLabel('Signing scheme').selectOption('standard-webhooks');
    await page.getByRole('button', { name: 'Create endpoint' }).click();

    const secretBox = page.getByTestId('secret');
    const secret = (await secretBox.textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await shot(page, 'endpoint-secret');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('article', { name: 'Endpoint Orders receiver' }).waitFor();
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.getByRole('article', { name: 'Endpoint Orders receiver' }).waitFor();
    expect(await page.content()).not.toContain(secret);

    // What the endpoint then receives verifies with the secret the page showed.
    await submitExport(ferry.url!, key, 'for the endpoint', '/endpoint-export-hook');
    const hit = await waitFor('an event at the endpoint', () => rx.to('/orders-hook').find((h) => h.body.includes('export.completed')));
    expect(() => new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>)).not.toThrow();

    await page.reload();
    const card = page.getByRole('article', { name: 'Endpoint Orders receiver' });
    await expect.poll(() => card.getByTestId('success-rate').textContent(), { timeout: 15_000 }).toMatch(/^100% of \d+$/);
    await shot(page, 'endpoints');

    // Disable and enable again; narrow its events.
    const endpointId = ((await api(ferry.url!, 'GET', '/webhooks/endpoints', { key })).json.data as Array<{ id: string }>)[0]!.id;
    await card.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => card.locator('.badge').first().textContent()).toBe('disabled');
    expect((await api(ferry.url!, 'GET', `/webhooks/endpoints/${endpointId}`, { key })).json.enabled).toBe(false);
    await card.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => card.locator('.badge').first().textContent()).toBe('enabled');
    await card.getByRole('button', { name: 'Change events' }).click();
    const events = card.getByRole('form', { name: 'Events of Orders receiver' });
    await events.getByLabel('Every event, including types added later').uncheck();
    await events.getByLabel('export.failed').uncheck();
    await events.getByRole('button', { name: 'Save events' }).click();
    await expect.poll(() => card.textContent()).toContain('Eventsexport.completed');
    expect((await api(ferry.url!, 'GET', `/webhooks/endpoints/${endpointId}`, { key })).json).toMatchObject({ enabled: true, events: ['export.completed'] });
  });

  it("shows a failed delivery's attempts, redelivers it, and recovers the failed ones since a time", { timeout: 120_000 }, async () => {
    const key = await tenant(ferry.url!, 'deliveries');
    rx.script('/flaky-hook', [500, 500, 500, 500]);
    const { page } = await openPage();
    await signIn(page, ferry.url!, key);
    await go(page, ferry.url!, '/endpoints', 'Endpoints');
    await page.getByLabel('Endpoint URL').fill(`${rx.url}/flaky-hook`);
    await page.getByLabel('Description (optional)').fill('Flaky receiver');
    await page.getByLabel('Retry schedule in seconds (optional)').fill('0, 0');
    await page.getByLabel('Every event, including types added later').uncheck();
    await page.getByLabel('export.failed').uncheck();
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByRole('button', { name: 'I have stored it' }).click();

    // Two exports complete; each export.completed fails twice at the endpoint (the schedule is spent).
    await submitExport(ferry.url!, key, 'first', '/deliveries-export-hook');
    await submitExport(ferry.url!, key, 'second', '/deliveries-export-hook');
    await waitFor('two deliveries to fail', async () => {
      const list = (await api(ferry.url!, 'GET', '/webhooks/deliveries?status=failed', { key })).json.data as unknown[];
      return list.length === 2 ? list : undefined;
    });

    await go(page, ferry.url!, '/deliveries?status=failed', 'Deliveries');
    const failed = page.getByRole('listitem', { name: 'export.completed delivery, failed' });
    await expect.poll(() => failed.count()).toBe(2);
    const first = failed.first();
    await first.getByRole('button', { name: 'Show attempts' }).click();
    const attempts = first.getByRole('region', { name: /Attempts of/ });
    await expect.poll(() => attempts.getByRole('row').count()).toBe(3);
    const attemptText = (await attempts.textContent())!;
    expect(attemptText).toContain('500');
    expect(attemptText).toMatch(/\d+ ms/);
    expect(attemptText).toContain('no');
    await shot(page, 'deliveries');

    // Redeliver one: the receiver now answers 200, with the same webhook-id as before.
    rx.script('/flaky-hook', []);
    const before = rx.to('/flaky-hook').length;
    await first.getByRole('button', { name: 'Redeliver' }).click();
    await waitFor('the redelivery', () => (rx.to('/flaky-hook').length > before ? true : undefined));
    const redelivered = rx.to('/flaky-hook').at(-1)!;
    expect(rx.to('/flaky-hook').filter((h) => h.headers['webhook-id'] === redelivered.headers['webhook-id'])).toHaveLength(3);
    await page.getByLabel('State').selectOption('');
    await expect.poll(() => page.getByRole('listitem', { name: 'export.completed delivery, succeeded' }).filter({ hasText: 'flaky-hook' }).count(), { timeout: 15_000 }).toBe(1);

    // Recover the other one with every failed delivery since a time.
    await page.getByText('Recover failed deliveries').click();
    await page.getByRole('button', { name: 'Recover', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'queued again' }).textContent()).toBe('1 delivery is queued again.');
    await expect.poll(() => page.getByRole('listitem', { name: 'export.completed delivery, succeeded' }).filter({ hasText: 'flaky-hook' }).count(), { timeout: 15_000 }).toBe(2);

    // The endpoint's health shows the failure that happened.
    await go(page, ferry.url!, '/endpoints', 'Endpoints');
    const card = page.getByRole('article', { name: 'Endpoint Flaky receiver' });
    await expect.poll(() => card.getByTestId('success-rate').textContent()).toBe('100% of 2');
    expect(await card.textContent()).toContain('answered 500');
  });

  it('lets an admin create an account and a key; the key signs in, and once revoked it is refused', { timeout: 120_000 }, async () => {
    const { page } = await openPage();
    await signIn(page, ferry.url!, KEY, ADMIN);
    await go(page, ferry.url!, '/admin', 'Admin');
    await page.getByLabel('New account name').fill('Acme Rentals');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Keys of Acme Rentals' }).waitFor();
    await page.getByText('This account has no key yet.').waitFor();
    await page.getByRole('button', { name: 'Create key' }).click();
    const newKey = (await page.getByTestId('secret').textContent())!;
    expect(newKey).toMatch(/^fk_/);
    await shot(page, 'admin');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const keys = page.getByRole('region', { name: 'Keys of Acme Rentals, table' });
    await expect.poll(() => keys.textContent()).toContain(newKey.slice(0, 12));
    expect(await page.content()).not.toContain(newKey);

    const other = await openPage();
    await signIn(other.page, ferry.url!, newKey);
    await go(other.page, ferry.url!, '/admin', 'Admin');
    await other.page.getByText('The admin view needs the admin token.').waitFor();

    await keys.getByRole('button', { name: `Revoke ${newKey.slice(0, 12)}` }).click();
    await expect.poll(() => keys.textContent()).toContain('revoked');
    expect((await api(ferry.url!, 'GET', '/datasets', { key: newKey })).status).toBe(403);
  });

  it('shows the catalog and publishes a dataset version as admin, listed with its counts and cursor', { timeout: 120_000 }, async () => {
    const { page } = await openPage();
    await signIn(page, ferry.url!, KEY, ADMIN);
    await go(page, ferry.url!, '/datasets', 'Datasets');
    await page.getByRole('article', { name: 'Dataset rentals' }).waitFor();
    await page.getByRole('article', { name: 'Dataset stations' }).getByRole('link', { name: 'Columns and versions' }).click();
    await page.getByRole('heading', { name: 'Dataset stations', level: 1 }).waitFor();
    await expect.poll(() => page.getByRole('region', { name: 'Columns, table' }).getByRole('row').count()).toBe(6);

    const versionsBefore = ((await api(ferry.url!, 'GET', '/datasets/stations/versions', { key: KEY })).json.data as unknown[]).length;
    await page.getByRole('button', { name: 'Publish a version' }).click();
    await page.getByRole('status').filter({ hasText: 'Published version' }).waitFor();
    const versions = page.getByRole('region', { name: 'Versions, table' });
    await expect.poll(() => versions.getByRole('row').count()).toBe(versionsBefore + 2);
    const latest = ((await api(ferry.url!, 'GET', '/datasets/stations/versions', { key: KEY })).json.data as Array<{ version_number: number; cursor: string; row_count: number }>)[0]!;
    expect(latest.row_count).toBe(40);
    const newest = versions.getByRole('row').nth(1);
    expect(await newest.getByRole('cell').first().textContent()).toBe(String(latest.version_number));
    expect(await newest.textContent()).toContain(latest.cursor);
    expect(await newest.getByRole('cell').nth(2).textContent()).toBe('40');
    await shot(page, 'dataset');

    // Without the admin token there is no publish button, and the page says why.
    const tenantPage = await openPage();
    await signIn(tenantPage.page, ferry.url!, KEY);
    await go(tenantPage.page, ferry.url!, '/datasets/stations', 'Dataset stations');
    await tenantPage.page.getByText('Publishing needs the admin token').waitFor();
    expect(await tenantPage.page.getByRole('button', { name: 'Publish a version' }).count()).toBe(0);
  });

  it('saves an export schedule from the builder, lists it and deletes it', { timeout: 120_000 }, async () => {
    const key = await tenant(ferry.url!, 'schedules');
    const { page } = await openPage();
    await signIn(page, ferry.url!, key);
    await go(page, ferry.url!, '/schedules', 'Schedules');
    await page.getByText('No scheduled export.').waitFor();
    await page.getByRole('link', { name: 'New schedule' }).click();
    await page.getByRole('heading', { name: 'New schedule', level: 1 }).waitFor();
    await page.getByLabel('Export name').fill('Monday rents');
    await page.getByLabel('Webhook URL').fill(`${rx.url}/schedule-hook`);
    await page.getByLabel('Cron expression (UTC)').fill('0 6 * * 1');
    expect(await page.getByTestId('curl').textContent()).toContain('/exports/schedules');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    const table = page.getByRole('region', { name: 'Schedules' });
    await expect.poll(() => table.textContent()).toContain('Monday rents');
    expect(await table.textContent()).toContain('0 6 * * 1');
    await shot(page, 'schedules');
    await table.getByRole('button', { name: 'Delete Monday rents' }).click();
    await page.getByText('No scheduled export.').waitFor();
    expect((await api(ferry.url!, 'GET', '/exports/schedules', { key })).json.data).toEqual([]);
  });

  it('labels every control, moves the focus by keyboard, and fits every page to a phone and a laptop', { timeout: 120_000 }, async () => {
    const key = await tenant(ferry.url!, 'layout');
    const id = await submitExport(ferry.url!, key, 'layout check', '/layout-hook');
    await waitFor('the export to complete', async () => ((await api(ferry.url!, 'GET', `/dataset/export/${id}`, { key })).json.state === 'completed' ? true : undefined));
    const pages: Array<[string, string | RegExp]> = [
      ['/', 'Overview'],
      ['/exports', 'Exports'],
      [`/exports/${id}`, 'layout check'],
      ['/new', 'New export'],
      ['/endpoints', 'Endpoints'],
      ['/deliveries', 'Deliveries'],
      ['/datasets', 'Datasets'],
      ['/datasets/rentals', 'Dataset rentals'],
      ['/schedules', 'Schedules'],
      ['/admin', 'Admin'],
    ];
    const phoneShots: Record<string, string> = { '/': 'phone-overview', '/new': 'phone-new-export', [`/exports/${id}`]: 'phone-export-detail', '/deliveries': 'phone-deliveries' };
    for (const viewport of [LAPTOP, PHONE]) {
      const { page } = await openPage(viewport);
      await signIn(page, ferry.url!, key, ADMIN);
      for (const [path, heading] of pages) {
        await go(page, ferry.url!, path, heading);
        await loaded(page);
        // Every form control and button has a name a screen reader announces.
        const unnamed = await page.evaluate<string[]>(UNNAMED_CONTROLS);
        expect(unnamed, `${path}: controls without a label`).toEqual([]);
        // The page never scrolls sideways: wide tables scroll inside themselves.
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        expect(overflow, `${path} at ${viewport.width}px is wider than the screen: ${overflow > 0 ? await page.evaluate<string>(WIDE_ELEMENTS) : ''}`).toBeLessThanOrEqual(0);
        const phoneShot = viewport === PHONE && phoneShots[path];
        if (phoneShot) await shot(page, phoneShot);
      }
      if (viewport === PHONE) {
        // On a phone the navigation folds behind a menu button that says whether it is open.
        const menu = page.getByRole('button', { name: 'Menu' });
        expect(await menu.getAttribute('aria-expanded')).toBe('false');
        await menu.click();
        expect(await menu.getAttribute('aria-expanded')).toBe('true');
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Endpoints' }).click();
        await page.getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();
        continue;
      }
      // Keyboard: the first Tab reaches "Skip to content", which moves the focus to the page; the
      // navigation's links open pages whose heading then has the focus.
      await go(page, ferry.url!, '/', 'Overview');
      await page.reload();
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate(ACTIVE_TEXT)).toBe('Skip to content');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(ACTIVE_ID)).toBe('main');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Deliveries', level: 1 }).waitFor();
      await expect.poll(() => page.evaluate(ACTIVE_TEXT)).toBe('Deliveries');
      // The page moves focus to its heading once it has rendered: wait for it rather than read it once.
      await expect.poll(() => page.evaluate('document.activeElement?.tagName'), { timeout: 10_000 }).toBe('H1');
    }
  });
});
