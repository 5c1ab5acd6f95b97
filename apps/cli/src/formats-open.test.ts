import { rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { waitFor } from '@ferry/testing';
import { startFerry, type FerryRuntime } from './runtime.js';
import { defineConfig } from './config.js';
import { seededDataDir } from './test-support/data-dir.js';
import { startScriptedReceiver, type ScriptedReceiver } from './test-support/scripted-receiver.js';

const KEY = 'open-formats-key-123';
let dataDir: string;
let ferry: FerryRuntime;
let rx: ScriptedReceiver;

beforeAll(async () => {
  dataDir = await seededDataDir('ferry-formats-open-');
  rx = await startScriptedReceiver();
  ferry = await startFerry(
    defineConfig({
      dataDir,
      server: { port: 0 },
      logLevel: 'silent',
      notifier: { use: 'webhook', options: { allowCidrs: ['127.0.0.1/32'] } },
      formats: { csv: { use: 'csv' }, jsonl: { use: 'jsonl' }, parquet: { use: 'parquet' }, arrow: { use: 'arrow' }, tsv: { use: 'csv', options: { delimiter: '\t' } } },
    }),
    KEY,
  );
});

afterAll(async () => {
  await ferry?.stop();
  await rx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function submit(format: string, compression?: string) {
  const res = await fetch(`${ferry.url}/dataset/export`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ dataset: { scopes: [{ column: 'msa' }, { column: 'bed' }], limit: 3 }, webhookURL: `${rx.url}/hook`, name: `as ${format}`, format, ...(compression ? { compression } : {}) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function downloaded(queryUUID: string): Promise<{ fileName: string; bytes: Buffer }> {
  const status = await waitFor('completion', async () => {
    const s = (await (await fetch(`${ferry.url}/dataset/export/${queryUUID}`, { headers: { 'x-api-key': KEY } })).json()) as { state: string; download: { url: string; fileName: string } };
    return s.state === 'completed' ? s : undefined;
  });
  return { fileName: status.download.fileName, bytes: Buffer.from(await (await fetch(status.download.url)).arrayBuffer()) };
}

describe('formats are an open set', () => {
  it('offers every configured slot, by its name, in the catalog', async () => {
    const catalog = (await (await fetch(`${ferry.url}/datasets/rentals`, { headers: { 'x-api-key': KEY } })).json()) as { formats: string[] };
    expect(catalog.formats).toEqual(['csv', 'jsonl', 'parquet', 'arrow', 'tsv']);
  });

  it('exports through any configured slot, named and compressed by what its writer says', async () => {
    const submitted = await submit('tsv');
    expect(submitted.status).toBe(201);
    const file = await downloaded(submitted.json.queryUUID as string);
    expect(file.fileName).toBe('as-tsv.csv.gz');
    expect(gunzipSync(file.bytes).toString('utf8').split('\n')[0]).toBe('msa\tbed');
  });

  it('gzips Arrow like the text formats (by default), and the stream reads back', async () => {
    const submitted = await submit('arrow');
    expect(submitted.status).toBe(201);
    const file = await downloaded(submitted.json.queryUUID as string);
    expect(file.fileName).toBe('as-arrow.arrows.gz');
    const table = tableFromIPC(gunzipSync(file.bytes));
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['msa', 'bed']);
  });

  it('refuses a format the install does not offer, and compression of a format its writer compresses itself', async () => {
    const unknown = await submit('xlsx');
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({ error: { code: 'VALIDATION_FAILED', message: 'format "xlsx" is not offered here (offered: csv, jsonl, parquet, arrow, tsv)', path: 'format' } });
    const parquetGz = await submit('parquet', 'gzip');
    expect(parquetGz.status).toBe(400);
    expect(parquetGz.json).toMatchObject({ error: { code: 'VALIDATION_FAILED', path: 'compression' } });
  });
});
