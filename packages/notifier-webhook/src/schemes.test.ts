import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { createSecret, signingHeaders, standardSignature } from './schemes.js';
import { createWebhookNotifier } from './notifier.js';

describe('Standard Webhooks signing', () => {
  it('matches the published sign vector (standard-webhooks webhook.test.ts, D1)', () => {
    const key = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const msgId = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const timestamp = 1614265330;
    const payload = '{"test": 2432232314}';
    expect(standardSignature(key, msgId, timestamp, payload)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    // The reference libraries accept the secret with or without its prefix.
    expect(standardSignature(key.slice('whsec_'.length), msgId, timestamp, payload)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const a = createSecret('standard-webhooks');
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(createSecret('standard-webhooks')).not.toBe(a);
  });

  const message = { id: 'msg_2abc', body: '{"type":"export.completed","id":"evt_1"}' };

  it('verifies with the standardwebhooks package, and fails its negative cases', () => {
    const secret = createSecret('standard-webhooks');
    const headers = signingHeaders({ scheme: 'standard-webhooks', secrets: [secret] }, message, new Date());
    expect(new Webhook(secret).verify(message.body, headers)).toEqual(JSON.parse(message.body));
    const fail = (body: string, h: Record<string, string>, s = secret) => expect(() => new Webhook(s).verify(body, h)).toThrow(WebhookVerificationError);
    fail(message.body, headers, createSecret('standard-webhooks'));
    fail(message.body.replace('completed', 'failed'), headers);
    fail(message.body, { ...headers, 'webhook-id': 'msg_other' });
    const { ['webhook-signature']: _s, ...unsigned } = headers;
    fail(message.body, unsigned);
    const old = signingHeaders({ scheme: 'standard-webhooks', secrets: [secret] }, message, new Date(Date.now() - 10 * 60_000));
    fail(message.body, old);
    const future = signingHeaders({ scheme: 'standard-webhooks', secrets: [secret] }, message, new Date(Date.now() + 10 * 60_000));
    fail(message.body, future);
  });

  it('signs with every active secret during a rotation, so old and new receivers verify', () => {
    const [oldSecret, newSecret] = [createSecret('standard-webhooks'), createSecret('standard-webhooks')];
    const headers = signingHeaders({ scheme: 'standard-webhooks', secrets: [newSecret, oldSecret] }, message, new Date());
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(newSecret).verify(message.body, headers)).toBeTruthy();
    expect(new Webhook(oldSecret).verify(message.body, headers)).toBeTruthy();
  });

  it('refuses to send unsigned when a signing scheme has no secret', () => {
    expect(() => signingHeaders({ scheme: 'standard-webhooks', secrets: [] }, message, new Date())).toThrow('no secret to sign with for scheme standard-webhooks');
    expect(() => signingHeaders({ scheme: 'secret-header', secrets: [] }, message, new Date())).toThrow(/no secret/);
  });

  it('puts the endpoint secret in x-webhook-secret for the seed 002 scheme', () => {
    expect(signingHeaders({ scheme: 'secret-header', secrets: ['s1'] }, message, new Date())).toEqual({ 'x-webhook-secret': 's1' });
    expect(signingHeaders({ scheme: 'secret-header', secrets: ['s2', 's1'] }, message, new Date())).toEqual({
      'x-webhook-secret': 's2',
      'x-webhook-secret-previous': 's1',
    });
    expect(signingHeaders({ scheme: 'ferry-hmac', secrets: [] }, message, new Date())).toEqual({});
  });
});

describe('signed deliveries on the wire', () => {
  let received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let url = '';
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  const notifier = createWebhookNotifier({ allowCidrs: ['127.0.0.1/32'] });

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await notifier.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends what the standardwebhooks package verifies, with a fresh timestamp per attempt', async () => {
    received = [];
    const secret = notifier.createSecret('standard-webhooks');
    const msg = { id: 'msg_wire', url, body: '{"hello":"world"}', headers: {} };
    const result = await notifier.deliver(msg, { signing: { scheme: 'standard-webhooks', secrets: [secret] } });
    expect(result.ok).toBe(true);
    const [hit] = received;
    expect(hit!.headers['webhook-id']).toBe('msg_wire');
    expect(new Webhook(secret).verify(hit!.body, hit!.headers as Record<string, string>)).toEqual({ hello: 'world' });
  });
});
