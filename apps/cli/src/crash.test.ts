import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@ferry/testing';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';
import { seededDataDir } from './test-support/data-dir.js';
import { listeningUrl, spawnFerry, type FerryProcess } from './test-support/processes.js';

const KEY = 'crash-test-key-123';
let dataDir: string;
let rx: ScriptedReceiver;
const children: FerryProcess[] = [];

/** `ferry serve` as a real process, as an operator runs it; resolves with its URL. */
async function serve(config: string): Promise<FerryProcess & { url: string }> {
  const child = spawnFerry(['serve', '--config', config], { FERRY_API_KEY: KEY });
  children.push(child);
  return { ...child, url: await listeningUrl(child) };
}

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-crash-');
  rx = await startScriptedReceiver();
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
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
  await first.kill('SIGKILL');

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
  // A graceful stop: SIGTERM ends the process cleanly.
  expect(await second.kill('SIGTERM')).toBe(0);
});
