import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@ferry/testing';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const KEY = 'crash-test-key-123';
let dataDir: string;
let rx: ScriptedReceiver;
const children: ChildProcess[] = [];

/** `ferry serve` as a real process, as an operator runs it; resolves with its URL. */
async function serve(config: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', config], {
    env: { ...process.env, FERRY_API_KEY: KEY, FERRY_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = await waitFor('ferry to listen', () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 60_000);
  return { child, url };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ferry-crash-'));
  rx = await startScriptedReceiver();
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('delivers, with the same id, a webhook whose attempt was sent but never recorded because the process died', async () => {
  const config = join(dataDir, 'ferry.config.json');
  await writeFile(
    config,
    JSON.stringify({
      dataDir: join(dataDir, 'data'),
      server: { port: 0 },
      notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
      deliveries: { timeoutMs: 1_000 },
    }),
  );
  rx.script('/crash', ['hang']);
  const first = await serve(config);
  const res = await fetch(`${first.url}/dataset/export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({ dataset: { scopes: [{ column: 'city' }], limit: 2 }, webhookURL: `${rx.url}/crash`, name: 'crash', format: 'jsonl' }),
  });
  expect(res.status).toBe(201);
  const { queryUUID } = (await res.json()) as { queryUUID: string };

  // The attempt reaches the receiver, which holds it; the process dies before it can record anything.
  await waitFor('the first attempt', () => rx.to('/crash')[0]);
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));

  const second = await serve(config);
  const redelivered = await waitFor('the delivery after restart', () => rx.to('/crash')[1], 60_000);
  const [attempt1] = rx.to('/crash');
  expect(redelivered.headers['webhook-id']).toBe(attempt1!.headers['webhook-id']);
  expect(redelivered.body).toBe(attempt1!.body);
  expect(JSON.parse(redelivered.body)).toMatchObject({ queryUUID });
  const status = await waitFor('the delivery to be recorded', async () => {
    const s = (await (await fetch(`${second.url}/dataset/export/${queryUUID}`, { headers: { 'x-api-key': KEY } })).json()) as {
      webhook: { deliveries: Array<{ state: string; attempts: number }> };
    };
    const d = s.webhook.deliveries[0];
    return d?.state === 'succeeded' ? d : undefined;
  });
  // The attempt lost in the crash is not in the log: only the one that was recorded.
  expect(status.attempts).toBe(1);
  second.child.kill('SIGTERM');
  await new Promise((r) => second.child.once('exit', r));
});
