/**
 * The seed scheme, checked end to end: a real delivery to a real receiver on 127.0.0.1 whose
 * handlers are the documented seed snippets (001: express handler verifying the `hmacSignature`
 * body field; 003: `verifyWebhook` on the `SHA256-HMAC-Signature` header). Only the `require`
 * lines became imports and `verifyWebhook`'s parameters got types; the logic is verbatim.
 */
import crypto from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebhookNotifier } from './notifier.js';
import { signPayload } from './sign.js';

const API_KEY = 'your-api-key';

// ---- receiver code from seed 001 (verbatim apart from the imports above) ----
const app = express();

app.use(express.json());

app.post('/webhook/dataset-export', (req, res) => {
  const { hmacSignature, payload, gcsBlob, queryUUID } = req.body;

  // Verify webhook authenticity
  const hmac = crypto.createHmac('sha256', 'your-api-key');
  hmac.update(JSON.stringify(payload));
  const expectedSignature = hmac.digest('hex');

  if (expectedSignature !== hmacSignature) {
    return res.status(401).send('Invalid signature');
  }

  console.log(`Export ${queryUUID} completed:`);
  console.log(`- Download URL: ${gcsBlob.url}`);
  console.log(`- Rows: ${gcsBlob.numberRows}`);
  console.log(`- Processing time: ${gcsBlob.timeTakenMs}ms`);

  // Download and process your data
  // processExportedData(gcsBlob.url);

  res.status(200).send('OK');
});

// ---- receiver code from seed 003 (verbatim apart from parameter types) ----
// Verify webhook authenticity
function verifyWebhook(originalPayload: unknown, receivedSignature: string | undefined, apiKey: string) {
const hmac = crypto.createHmac('sha256', apiKey);
hmac.update(JSON.stringify(originalPayload));
const computedSignature = hmac.digest('hex');
return computedSignature === receivedSignature;
}
// Usage in your webhook handler
app.post('/your-webhook', (req, res) => {
const { payload } = req.body;
const hmacSignature = req.get('SHA256-HMAC-Signature');
const isValid = verifyWebhook(payload, hmacSignature, 'your-api-key');
if (!isValid) {
return res.status(401).send('Unauthorized');
}
// Process the webhook...
res.status(200).send('OK');
});
// ---- end of seed code ----

/** The client's original query, echoed as `payload`; deliberately awkward for JSON round-trips. */
const payload = {
  scopes: [{ column: 'street_address' }, { column: 'asking_rent', aggregate: 'Avg' }],
  filters: [
    { column: 'msa', filter: { equals: 'Seattle, WA' } },
    { column: 'bed', filter: { in: [1, 2, 3] } },
    { column: 'note', filter: { equals: 'café "quoted" \\ \u2028 😀 <tag>' } },
    { column: 'ratio', filter: { gte: 0.1, lt: 1e21 } },
  ],
  limit: 10000,
};

function exportBody(signature: string): string {
  return JSON.stringify({
    queryUUID: '123e4567-e89b-12d3-a456-426614174000',
    name: 'Seattle Rental Data Export',
    format: 'csv',
    payload,
    hmacSignature: signature,
    gcsBlob: { url: 'https://downloads.example.com/x.csv.gz', expires: '2024-02-15T10:30:00Z', timeTakenMs: 45000, numberRows: 12847 },
    requestedOn: '2024-01-15T10:00:00Z',
    completedOn: '2024-01-15T10:00:45Z',
  });
}

let server: Server;
let base: string;
const notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });

beforeAll(async () => {
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await notifier.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('signPayload (seed scheme) against the seed receivers', () => {
  it('is the hex HMAC-SHA256 of JSON.stringify(payload)', () => {
    expect(signPayload(API_KEY, payload)).toBe(crypto.createHmac('sha256', API_KEY).update(JSON.stringify(payload)).digest('hex'));
    expect(signPayload(API_KEY, payload)).toMatch(/^[0-9a-f]{64}$/);
    // Fixed vector (computed with `printf '{"a":1}' | openssl dgst -sha256 -hmac key`), so a change in
    // the scheme cannot hide behind the same helper being used on both sides.
    expect(signPayload('key', { a: 1 })).toBe('88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342');
  });

  it('seed 001 handler accepts our body signature', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const signature = signPayload(API_KEY, payload);
      const result = await notifier.deliver(
        { id: 'evt_1', url: `${base}/webhook/dataset-export`, body: exportBody(signature), headers: {} },
        { timeoutMs: 5000 },
      );
      expect(result).toMatchObject({ ok: true, status: 200, responseBody: 'OK' });
      expect(log).toHaveBeenCalledWith('- Rows: 12847');
    } finally {
      log.mockRestore();
    }
  });

  it('seed 003 verifyWebhook accepts our header signature', async () => {
    const signature = signPayload(API_KEY, payload);
    const result = await notifier.deliver(
      { id: 'evt_2', url: `${base}/your-webhook`, body: exportBody(signature), headers: { 'SHA256-HMAC-Signature': signature } },
      { timeoutMs: 5000 },
    );
    expect(result).toMatchObject({ ok: true, status: 200, responseBody: 'OK' });
  });

  it('both receivers reject a signature made with another key (401, not retryable)', async () => {
    const wrong = signPayload('another-key', payload);
    const r1 = await notifier.deliver({ id: 'evt_3', url: `${base}/webhook/dataset-export`, body: exportBody(wrong), headers: {} }, {});
    const r2 = await notifier.deliver(
      { id: 'evt_4', url: `${base}/your-webhook`, body: exportBody(wrong), headers: { 'SHA256-HMAC-Signature': wrong } },
      {},
    );
    expect(r1).toMatchObject({ ok: false, status: 401, retryable: false, responseBody: 'Invalid signature' });
    expect(r2).toMatchObject({ ok: false, status: 401, retryable: false, responseBody: 'Unauthorized' });
  });
});
