import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { seededDataDir } from './test-support/data-dir.js';
import { spawnFerry, type FerryProcess } from './test-support/processes.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { exportProgress } from './commands/progress.js';

const KEY = 'cli-commands-key-0123456789';
const ADMIN = 'cli-commands-admin-0123456789';

let dataDirs: string[] = [];
let outDir: string;
let ferry: FerryRuntime;
/** An API-only Ferry: nothing runs its exports, so they stay queued until cancelled. */
let idle: FerryRuntime;
let rx: ScriptedReceiver;

const config = (dir: string) =>
  defineConfig({
    dataDir: dir,
    server: { port: 0 },
    logLevel: 'silent',
    notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
  });

interface Run {
  code: number | null;
  /** stdout and stderr, interleaved as printed. */
  out: string;
  stdout: string;
}

function start(args: string[], target: FerryRuntime = ferry, env: Record<string, string> = {}): FerryProcess & { stdout: () => string } {
  const p = spawnFerry(args, { FERRY_URL: target.url!, FERRY_API_KEY: KEY, ...env });
  let stdout = '';
  p.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  return { ...p, stdout: () => stdout };
}

/** `ferry <args>` as a real process against the test server, to its end. */
async function ferryCli(args: string[], target: FerryRuntime = ferry, env: Record<string, string> = {}): Promise<Run> {
  const p = start(args, target, env);
  const code = await p.exited;
  return { code, out: p.output(), stdout: p.stdout() };
}

async function json<T>(args: string[], target: FerryRuntime = ferry): Promise<T> {
  const run = await ferryCli([...args, '--json'], target);
  expect(run.code, run.out).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** Rows of a gzipped CSV file: its header, then each line split on commas (the tests pick columns without commas). */
async function csv(path: string): Promise<{ header: string; rows: string[][] }> {
  const [header, ...lines] = gunzipSync(await readFile(path))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
  return { header: header!, rows: lines.map((l) => l.split(',')) };
}

beforeAll(async () => {
  const [busyDir, idleDir] = await Promise.all([seededDataDir('ferry-cli-cmds-'), seededDataDir('ferry-cli-idle-')]);
  dataDirs = [busyDir, idleDir];
  outDir = await mkdtemp(join(tmpdir(), 'ferry-cli-out-'));
  rx = await startScriptedReceiver();
  ferry = await startFerry(config(busyDir), KEY, { adminToken: ADMIN });
  idle = await startFerry(config(idleDir), KEY, { workers: false });
});

afterAll(async () => {
  await ferry?.stop();
  await idle?.stop();
  await rx?.close();
  await Promise.all([...dataDirs, outDir].map((d) => rm(d, { recursive: true, force: true })));
});

describe('ferry export', () => {
  it('--wait --out: prints plain progress lines (not a terminal), then downloads the checked file with every row', async () => {
    const dir = join(outDir, 'plain');
    const run = await ferryCli([
      'export',
      ...['--scope', 'property_id', '--scope', 'bed', '--scope', 'asking_rent'],
      ...['--filter', 'bed in [1, 2]', '--filter', 'asking_rent >= 1500', '--order-by', 'property_id', '--limit', '20000'],
      ...['--name', 'cli wait', '--webhook-url', `${rx.url}/cli-wait`, '--out', dir, '--poll-interval', '100'],
    ]);
    expect(run.code, run.out).toBe(0);

    const id = /^Export ([0-9a-f-]{36}) submitted \(cli wait\)\.$/m.exec(run.stdout)?.[1];
    expect(id, run.out).toBeDefined();
    const progress = run.out.split('\n').filter((l) => l.startsWith(`export ${id!.slice(0, 8)}: `));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) {
      expect(line).toMatch(/^export [0-9a-f]{8}: (queued|running|completed), [\d,]+ rows, [\d.]+ k?M?G?B, [\d,]+ rows\/s, [\d.]+ k?M?G?B\/s, \d\d:\d\d elapsed$/);
    }
    expect(progress.at(-1)).toMatch(/: completed, 20,000 rows, /);
    expect(run.stdout).toMatch(/^Export [0-9a-f-]{36} completed: 20,000 rows in 1 file\(s\), /m);

    const files = await readdir(dir);
    expect(files).toEqual([expect.stringMatching(/\.csv\.gz$/)]);
    expect(run.stdout).toContain(`Downloaded ${join(dir, files[0]!)}`);
    const { header, rows } = await csv(join(dir, files[0]!));
    expect(header).toBe('property_id,bed,asking_rent');
    expect(rows).toHaveLength(20_000);
    for (const [, bed, rent] of rows) {
      expect(['1', '2']).toContain(bed);
      expect(Number(rent)).toBeGreaterThanOrEqual(1500);
    }
    const ids = rows.map((r) => Number(r[0]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  }, 180_000);

  it('--query FILE (a whole request body) with --json: the final status and the downloaded paths, flags overriding the file', async () => {
    const queryFile = join(outDir, 'query.json');
    await writeFile(
      queryFile,
      JSON.stringify({ dataset: { scopes: [{ column: 'msa' }, { column: 'asking_rent', aggregate: 'Avg' }], filters: [{ column: 'msa', filter: { startsWith: 'S' } }] }, format: 'csv', name: 'from a file' }),
    );
    const dir = join(outDir, 'json');
    const result = await json<{ queryUUID: string; status: { state: string; numberRows: number; format: string; name: string }; downloaded: string[] }>([
      'export',
      '--query',
      queryFile,
      '--format',
      'jsonl',
      '--webhook-url',
      `${rx.url}/cli-json`,
      '--out',
      dir,
    ]);
    expect(result.status).toMatchObject({ state: 'completed', format: 'jsonl', name: 'from a file' });
    expect(result.downloaded).toHaveLength(1);
    const lines = gunzipSync(await readFile(result.downloaded[0]!))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msa: string; avg_asking_rent: number });
    expect(lines).toHaveLength(result.status.numberRows);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.msa.startsWith('S')).toBe(true);
  }, 180_000);

  it('exits 1 with one line naming the code and the field when the API refuses the query', async () => {
    const run = await ferryCli(['export', '--scope', 'msa', '--scope', 'no_such_column', '--webhook-url', `${rx.url}/cli-bad`, '--wait']);
    expect(run.code).toBe(1);
    const lines = run.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ferry: UNKNOWN_COLUMN: .*no_such_column.* \(at dataset\.scopes\[1\]\.column; POST \/dataset\/export answered 400\)$/);
    // The key never appears in what the CLI prints.
    expect(run.out).not.toContain(KEY);
  }, 180_000);

  it('exits 1 when the export it waits for fails (here: cancelled with `ferry exports cancel`)', async () => {
    const waiting = start(['export', '--scope', 'msa', '--webhook-url', `${rx.url}/cli-cancel`, '--wait', '--poll-interval', '100'], idle);
    const id = await waitFor('the export to be queued', () => {
      if (waiting.child.exitCode !== null) throw new Error(waiting.output());
      return /^export ([0-9a-f]{8}): queued/m.test(waiting.output()) ? /Export ([0-9a-f-]{36}) submitted/.exec(waiting.output())?.[1] : undefined;
    });
    const cancel = await ferryCli(['exports', 'cancel', id], idle);
    expect(cancel.code, cancel.out).toBe(0);
    expect(cancel.stdout).toBe(`Export ${id} cancelled: failed (cancelled by request).\n`);

    expect(await waiting.exited).toBe(1);
    expect(waiting.output().trim().split('\n').at(-1)).toBe(`ferry: EXPORT_FAILED: export ${id} failed: cancelled by request`);

    const listed = await json<{ data: Array<{ queryUUID: string; state: string }> }>(['exports', 'list', '--state', 'failed'], idle);
    expect(listed.data.map((e) => e.queryUUID)).toContain(id);
    const shown = await ferryCli(['exports', 'get', id], idle);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^id: +${id}\\n(.*\\n)*state: +failed\\n(.*\\n)*error: +cancelled by request\\n`));
  }, 180_000);
});

describe('endpoints and deliveries', () => {
  it('adds an endpoint (its secret shown once), lists, rotates and removes it', async () => {
    const added = await json<{ id: string; secret: string; events: string[] }>(['endpoints', 'add', `${rx.url}/ep`, '--events', 'export.completed,export.failed']);
    expect(added).toMatchObject({ id: expect.stringMatching(/^ep_/), secret: expect.stringMatching(/^whsec_/), events: ['export.completed', 'export.failed'] });

    const listed = await ferryCli(['endpoints', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^ID +URL +EVENTS +SCHEME +ENABLED +FAILING SINCE\\n(.*\\n)*${added.id} +${rx.url}/ep +export.completed,export.failed +standard-webhooks +yes +-\\n`));
    expect(listed.stdout).not.toContain(added.secret);

    const rotated = await json<{ id: string; secret: string }>(['endpoints', 'rotate', added.id]);
    expect(rotated.id).toBe(added.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(added.secret);

    const removed = await ferryCli(['endpoints', 'rm', added.id]);
    expect(removed.stdout).toBe(`Endpoint ${added.id} deleted.\n`);
    const after = await json<{ data: Array<{ id: string }> }>(['endpoints', 'list']);
    expect(after.data.map((e) => e.id)).not.toContain(added.id);
    const again = await ferryCli(['endpoints', 'rm', added.id]);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/^ferry: NOT_FOUND: .* \(DELETE \/webhooks\/endpoints\/ep_\S+ answered 404\)\n$/);
  }, 180_000);

  it('lists the deliveries, redelivers one with the same webhook-id, and recovers failed ones', async () => {
    const { queryUUID } = await json<{ queryUUID: string }>(['export', '--scope', 'msa', '--limit', '3', '--webhook-url', `${rx.url}/deliveries`, '--wait']);
    const first = await waitFor('the webhook', () => rx.to('/deliveries')[0]);
    const page = await waitFor('the delivery to succeed', async () => {
      const listed = await json<{ data: Array<{ id: string; exportId: string | null; state: string; event: string }> }>(['deliveries', 'list', '--since', '10m', '--status', 'succeeded']);
      return listed.data.find((d) => d.exportId === queryUUID);
    });
    expect(page).toMatchObject({ event: 'export.completed', state: 'succeeded' });

    const table = await ferryCli(['deliveries', 'list', '--since', '1h']);
    expect(table.stdout).toMatch(new RegExp(`^ID +EVENT +STATE +ATTEMPTS +LAST STATUS +ENDPOINT +CREATED +LAST ERROR\\n(.*\\n)*${page.id} +export.completed +succeeded +1 +200 +`));

    const redelivered = await ferryCli(['deliveries', 'redeliver', page.id]);
    expect(redelivered.code, redelivered.out).toBe(0);
    expect(redelivered.stdout).toMatch(new RegExp(`^Delivery ${page.id} \\(export.completed\\) queued again: pending\\.\\n$`));
    const second = await waitFor('the redelivery', () => rx.to('/deliveries')[1]);
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.body).toBe(first.body);

    expect(await json(['deliveries', 'recover', '--since', '1h'])).toEqual({ recovered: 0 });
  }, 180_000);
});

describe('usage', () => {
  it('`--help` of every command prints its usage and exits 0', async () => {
    const cases: Array<[string[], string[]]> = [
      [['help'], ['export [options]', 'exports', 'endpoints', 'deliveries', 'versions', 'sync [options] <dataset>']],
      [['export', '--help'], ['Usage: ferry export [options]', '--query <file>', '--scope', '--filter', '--wait', '--out <dir>', '--webhook-url <url>', 'Exit codes:']],
      [['help', 'exports'], ['Usage: ferry exports', 'list [options]', 'get [options] <queryUUID>', 'cancel [options] <queryUUID>']],
      [['exports', 'list', '--help'], ['--state <state>', '--starting-after', '--api-key <key>', '(env: FERRY_API_KEY)', '--json']],
      [['endpoints', '--help'], ['add [options] <url>', 'list', 'rotate [options] <id>', 'rm [options] <id>']],
      [['deliveries', '--help'], ['list [options]', 'redeliver [options] <id>', 'recover [options]']],
      [['versions', 'publish', '--help'], ['Usage: ferry versions publish [options] <dataset>', '--admin-token <token>', '(env: FERRY_ADMIN_TOKEN)']],
      [['sync', '--help'], ['Usage: ferry sync [options] <dataset>', '--into <file>', '--table <name>', '--full', '_ferry_sync']],
    ];
    const runs = await Promise.all(cases.map(([args]) => ferryCli(args)));
    runs.forEach((run, i) => {
      const [args, expected] = cases[i]!;
      expect(run.code, args.join(' ')).toBe(0);
      // Help wraps at the terminal's width: compare with the whitespace folded.
      for (const text of expected) expect(run.stdout.replace(/\s+/g, ' '), args.join(' ')).toContain(text);
    });
  }, 180_000);

  it('an unknown flag or subcommand, a missing argument or a missing credential exits 2 with the reason', async () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['export', '--scope', 'msa', '--bogus'], {}, "unknown option '--bogus'"],
      [['exports', 'list', '--state', 'sideways'], {}, "argument 'sideways' is invalid"],
      [['endpoints', 'frobnicate'], {}, "unknown command 'frobnicate'"],
      [['export', '--scope', 'msa'], {}, 'the API requires a webhook URL'],
      [['export', '--scope', 'msa:median_ish', '--webhook-url', 'http://127.0.0.1:9/x'], {}, 'unknown aggregate "median_ish"'],
      [['export', '--filter', 'bed in 1', '--scope', 'msa', '--webhook-url', 'http://127.0.0.1:9/x'], {}, 'in takes a JSON array'],
      [['exports', 'list'], { FERRY_API_KEY: '' }, 'no API key: pass --api-key or set FERRY_API_KEY'],
      [['versions', 'publish', 'rentals'], {}, 'this needs the admin token'],
    ];
    const runs = await Promise.all(cases.map(([args, env]) => ferryCli(args, ferry, env)));
    runs.forEach((run, i) => {
      const [args, , reason] = cases[i]!;
      expect(run.code, `${args.join(' ')}: ${run.out}`).toBe(2);
      expect(run.out).toContain(reason);
      expect(run.out).not.toMatch(/\n\s+at /);
    });
  }, 180_000);
});

describe('progress on a terminal', () => {
  it('draws a bar with the rows, bytes, rate and elapsed time, redrawn in place', () => {
    // A stream that says it is a terminal, as process.stderr does on one: cli-progress then draws with cursor moves.
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 160 }) as unknown as NodeJS.WriteStream;
    let drawn = '';
    (terminal as unknown as PassThrough).on('data', (c: Buffer) => (drawn += c.toString()));
    let now = 0;
    const bar = exportProgress({ label: 'export 1234abcd', totalRows: 4_000, stream: terminal, now: () => now });
    now = 2_000;
    bar.update({ state: 'running', rows: 1_000, bytes: 2_500_000 });
    now = 4_000;
    bar.update({ state: 'completed', rows: 4_000, bytes: 10_000_000 });
    bar.stop();
    const text = drawn.replace(/\x1B(?:\[[0-9;?]*[A-Za-z]|[78])/g, '');
    expect(drawn).toContain('\x1B[?25l'); // the cursor hidden while drawing, and shown again after
    expect(drawn).toContain('\x1B[?25h');
    // The elapsed time is cli-progress's own clock, which keeps moving between two polls.
    expect(text).toMatch(/export 1234abcd running \[█{6}░{18}\] 25% \| 1,000 rows \| 2\.50 MB \| 500 rows\/s, 1\.25 MB\/s \| \d+s/);
    expect(text).toMatch(/export 1234abcd completed \[█{24}\] 100% \| 4,000 rows \| 10\.0 MB \| 1,000 rows\/s, 2\.50 MB\/s \| \d+s/);
  });
});
