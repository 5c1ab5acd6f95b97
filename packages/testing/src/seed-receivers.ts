/**
 * The webhook handlers from the seed docs, as a customer would deploy them, on 127.0.0.1.
 * The code between the SEED markers is copied verbatim from ../shared/seeds (001 and 003), so a
 * delivery these accept is one the documented handlers accept.
 */
import express from 'express';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  rawBody: string;
  status: number;
}

export interface SeedReceivers {
  url: string;
  received: ReceivedWebhook[];
  /** Answer the next `n` requests with `status` before the handlers run (to exercise retries). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

export async function startSeedReceivers(): Promise<SeedReceivers> {
  const app = express();
  const received: ReceivedWebhook[] = [];
  let failures = { n: 0, status: 500 };

  app.use(express.raw({ type: '*/*' }), (req, res, next) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const record: ReceivedWebhook = { path: req.path, headers: req.headers, body: {}, rawBody, status: 0 };
    try {
      record.body = JSON.parse(rawBody) as Record<string, unknown>;
    } catch {
      // recorded as-is; the handlers will reject it
    }
    res.on('finish', () => {
      record.status = res.statusCode;
      received.push(record);
    });
    if (failures.n > 0) {
      failures.n--;
      res.status(failures.status).send('try again');
      return;
    }
    // Hand the handlers the parsed body, as express.json() would have.
    req.body = record.body;
    next();
  });

  // ---- SEED 001 (express handler), verbatim ----
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
  // ---- END SEED 001 ----

  // ---- SEED 003 (verifyWebhook), verbatim ----
  // Verify webhook authenticity
  function verifyWebhook(originalPayload: unknown, receivedSignature: unknown, apiKey: string) {
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
  // ---- END SEED 003 ----

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    failNext(n, status) {
      failures = { n, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

