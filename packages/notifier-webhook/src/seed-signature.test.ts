/**
 * The seed scheme, checked end to end: a real delivery to a real receiver on 127.0.0.1 whose
 * handlers are the documented seed snippets (001: express handler verifying the `hmacSignature`
 * body field; 003: `verifyWebhook` on the `SHA256-HMAC-Signature` header), from @ferry/testing.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSeedReceivers, type SeedReceivers } from '@ferry/testing/receivers';
import { createWebhookNotifier } from './notifier.js';
import { signPayload } from './sign.js';

const API_KEY = 'your-api-key';

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

let receivers: SeedReceivers;
let base: string;
const notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });

beforeAll(async () => {
  receivers = await startSeedReceivers();
  base = receivers.url;
});

afterAll(async () => {
  await notifier.close();
  await receivers.close();
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
