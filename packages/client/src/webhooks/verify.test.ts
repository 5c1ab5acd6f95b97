import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { isExportCompleted, verifyFerryWebhook, verifySecretHeader, verifyStandardWebhook, WebhookVerificationError, type WebhookVerificationCode } from './index.js';

const API_KEY = 'fk_test_0123456789abcdef';

/** The verification error `fn` throws (fails the test if it throws none). */
function caught(fn: () => unknown): WebhookVerificationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return err as WebhookVerificationError;
  }
  throw new Error('expected the webhook to be rejected');
}
const rejection = (fn: () => unknown): WebhookVerificationCode => caught(fn).code;

describe('verifyFerryWebhook (the seed HMAC scheme)', () => {
  // What seed 001's handler computes, written out independently of the client.
  const seedSignature = (key: string, payload: unknown) => createHmac('sha256', key).update(JSON.stringify(payload)).digest('hex');
  const query = { scopes: [{ column: 'street_address' }, { column: 'asking_rent', aggregate: 'Avg' }], filters: [{ column: 'msa', filter: { equals: 'Seattle, WA' } }], limit: 10000 };
  const webhook = (key = API_KEY, payload: unknown = query) => {
    const hmacSignature = seedSignature(key, payload);
    const body = JSON.stringify({
      queryUUID: '123e4567-e89b-12d3-a456-426614174000',
      name: 'Seattle Rental Data Export',
      format: 'csv',
      payload,
      hmacSignature,
      gcsBlob: { url: 'https://ferry.example/downloads/t', expires: '2024-02-15T10:30:00.000Z', timeTakenMs: 45000, numberRows: 12847 },
      requestedOn: '2024-01-15T10:00:00.000Z',
      completedOn: '2024-01-15T10:00:45.000Z',
    });
    return { body, headers: { 'content-type': 'application/json', 'sha256-hmac-signature': hmacSignature } as Record<string, string> };
  };

  it('accepts a webhook signed with the API key, as a string, a Buffer, or with Headers, and returns it parsed', () => {
    const { body, headers } = webhook();
    const verified = verifyFerryWebhook(body, headers, API_KEY);
    expect(isExportCompleted(verified) && verified.gcsBlob.numberRows).toBe(12847);
    expect(verifyFerryWebhook(Buffer.from(body), headers, API_KEY).payload).toEqual(query);
    expect(verifyFerryWebhook(body, new Headers({ 'SHA256-HMAC-Signature': headers['sha256-hmac-signature']! }), API_KEY).queryUUID).toBe('123e4567-e89b-12d3-a456-426614174000');
    // The header's case does not matter in a plain object either.
    expect(verifyFerryWebhook(body, { 'SHA256-HMAC-Signature': headers['sha256-hmac-signature'] }, API_KEY).name).toBe('Seattle Rental Data Export');
  });

  it('accepts any of several keys (a receiver rotating its key) and refuses a wrong one', () => {
    const { body, headers } = webhook();
    expect(verifyFerryWebhook(body, headers, ['fk_new_key', API_KEY]).format).toBe('csv');
    expect(rejection(() => verifyFerryWebhook(body, headers, 'fk_someone_else'))).toBe('INVALID_SIGNATURE');
  });

  it('refuses a tampered payload, a tampered body signature and a tampered header', () => {
    const { body, headers } = webhook();
    const tampered = body.replace('"limit":10000', '"limit":10001');
    expect(tampered).not.toBe(body);
    expect(rejection(() => verifyFerryWebhook(tampered, headers, API_KEY))).toBe('INVALID_SIGNATURE');
    // A forger who recomputes only the body's field without the key gets nowhere either.
    const otherSignature = seedSignature('guess', query);
    expect(rejection(() => verifyFerryWebhook(body.replace(headers['sha256-hmac-signature']!, otherSignature), headers, API_KEY))).toBe('INVALID_SIGNATURE');
    expect(rejection(() => verifyFerryWebhook(body, { 'sha256-hmac-signature': otherSignature }, API_KEY))).toBe('INVALID_SIGNATURE');
  });

  it('refuses a webhook without the header, a body that is not JSON or has no signature, and an empty key', () => {
    const { body, headers } = webhook();
    const missing = caught(() => verifyFerryWebhook(body, { 'content-type': 'application/json' }, API_KEY));
    expect(missing.code).toBe('MISSING_HEADER');
    expect(missing.header).toBe('SHA256-HMAC-Signature');
    expect(rejection(() => verifyFerryWebhook('{not json', headers, API_KEY))).toBe('INVALID_BODY');
    expect(rejection(() => verifyFerryWebhook(JSON.stringify({ payload: query }), headers, API_KEY))).toBe('INVALID_BODY');
    expect(rejection(() => verifyFerryWebhook('[]', headers, API_KEY))).toBe('INVALID_BODY');
    expect(rejection(() => verifyFerryWebhook(body, headers, ''))).toBe('INVALID_SECRET');
  });

  it('never puts the key or the signature in its error messages', () => {
    const { body, headers } = webhook();
    const err = caught(() => verifyFerryWebhook(body, headers, 'fk_secret_wrong_key'));
    expect(err.code).toBe('INVALID_SIGNATURE');
    expect(err.message).not.toContain('fk_secret_wrong_key');
    expect(err.message).not.toContain(headers['sha256-hmac-signature']);
  });
});

describe('verifySecretHeader (seed 002)', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  it('accepts the secret in x-webhook-secret, or in x-webhook-secret-previous during a rotation', () => {
    expect(() => verifySecretHeader({ 'x-webhook-secret': secret }, secret)).not.toThrow();
    expect(() => verifySecretHeader(new Headers({ 'X-Webhook-Secret': secret }), secret)).not.toThrow();
    expect(() => verifySecretHeader({ 'x-webhook-secret': 'whsec_new', 'x-webhook-secret-previous': secret }, secret)).not.toThrow();
  });

  it('returns the parsed body when given one', () => {
    const event = { dataset_key: 'rentals', version_number: 3 };
    expect(verifySecretHeader(Buffer.from(JSON.stringify(event)), { 'x-webhook-secret': secret }, secret)).toEqual(event);
    expect(rejection(() => verifySecretHeader('not json', { 'x-webhook-secret': secret }, secret))).toBe('INVALID_BODY');
  });

  it('refuses a wrong secret, a prefix of it, a missing header and an empty secret', () => {
    expect(rejection(() => verifySecretHeader({ 'x-webhook-secret': `${secret}x` }, secret))).toBe('INVALID_SIGNATURE');
    expect(rejection(() => verifySecretHeader({ 'x-webhook-secret': secret.slice(0, -1) }, secret))).toBe('INVALID_SIGNATURE');
    expect(rejection(() => verifySecretHeader({ 'x-webhook-secret-previous': secret }, secret))).toBe('MISSING_HEADER');
    expect(rejection(() => verifySecretHeader({}, secret))).toBe('MISSING_HEADER');
    expect(rejection(() => verifySecretHeader({ 'x-webhook-secret': '' }, ''))).toBe('INVALID_SECRET');
  });
});

describe('verifyStandardWebhook (Standard Webhooks)', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const body = JSON.stringify({ type: 'export.completed', data: { queryUUID: 'q1', numberRows: 42 } });
  const at = new Date('2025-06-01T12:00:00Z');
  /** Signed by the standardwebhooks package itself, as an independent implementation of the spec. */
  const signed = (opts: { secret?: string; id?: string; timestamp?: Date; payload?: string } = {}) => {
    const id = opts.id ?? 'msg_2Lx0Yy';
    const timestamp = opts.timestamp ?? at;
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(opts.secret ?? secret).sign(id, timestamp, opts.payload ?? body),
    };
  };

  it('accepts what the standardwebhooks package signs, and returns the parsed body', () => {
    expect(verifyStandardWebhook(body, signed(), secret, { now: at })).toEqual(JSON.parse(body));
    expect(verifyStandardWebhook(Buffer.from(body), new Headers(signed()), secret, { now: at.getTime() + 299_000 })).toEqual(JSON.parse(body));
  });

  it('produces signatures the standardwebhooks package accepts, so both agree on the format', () => {
    // The library checks against the real clock: sign for now.
    const now = new Date();
    expect(new Webhook(secret).verify(body, signed({ timestamp: now }))).toEqual(JSON.parse(body));
    expect(verifyStandardWebhook(body, signed({ timestamp: now }), secret)).toEqual(JSON.parse(body));
  });

  it('accepts when any one of several space-separated signatures matches (a rotation on the sender side)', () => {
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    const headers = signed({ secret: other });
    headers['webhook-signature'] = `v2,ignored ${headers['webhook-signature']} ${signed()['webhook-signature']}`;
    expect(verifyStandardWebhook(body, headers, secret, { now: at })).toEqual(JSON.parse(body));
    expect(verifyStandardWebhook(body, headers, other, { now: at })).toEqual(JSON.parse(body));
  });

  it('refuses a wrong secret, a tampered body, a changed id and a changed timestamp', () => {
    const headers = signed();
    expect(rejection(() => verifyStandardWebhook(body, headers, `whsec_${randomBytes(32).toString('base64')}`, { now: at }))).toBe('INVALID_SIGNATURE');
    expect(rejection(() => verifyStandardWebhook(body.replace('42', '43'), headers, secret, { now: at }))).toBe('INVALID_SIGNATURE');
    expect(rejection(() => verifyStandardWebhook(body, { ...headers, 'webhook-id': 'msg_other' }, secret, { now: at }))).toBe('INVALID_SIGNATURE');
    const shifted = String(Number(headers['webhook-timestamp']) + 1);
    expect(rejection(() => verifyStandardWebhook(body, { ...headers, 'webhook-timestamp': shifted }, secret, { now: at }))).toBe('INVALID_SIGNATURE');
  });

  it('refuses a stale timestamp and one too far in the future, by the tolerance given', () => {
    const headers = signed();
    expect(rejection(() => verifyStandardWebhook(body, headers, secret, { now: at.getTime() + 301_000 }))).toBe('TIMESTAMP_TOO_OLD');
    expect(rejection(() => verifyStandardWebhook(body, headers, secret, { now: at.getTime() - 301_000 }))).toBe('TIMESTAMP_TOO_NEW');
    expect(rejection(() => verifyStandardWebhook(body, headers, secret, { now: at.getTime() + 11_000, toleranceSeconds: 10 }))).toBe('TIMESTAMP_TOO_OLD');
    expect(verifyStandardWebhook(body, headers, secret, { now: at.getTime() + 3_600_000, toleranceSeconds: 3_600 })).toEqual(JSON.parse(body));
    // Without `now`, the receiver's clock: a message signed an hour ago is a replay.
    expect(rejection(() => verifyStandardWebhook(body, signed({ timestamp: new Date(Date.now() - 3_600_000) }), secret))).toBe('TIMESTAMP_TOO_OLD');
  });

  it('refuses missing headers, a timestamp that is not a number, and a secret that is not base64', () => {
    const headers = signed();
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const without: Record<string, string> = { ...headers };
      delete without[name];
      expect(rejection(() => verifyStandardWebhook(body, without, secret, { now: at }))).toBe('MISSING_HEADER');
    }
    expect(rejection(() => verifyStandardWebhook(body, { ...headers, 'webhook-timestamp': '2025-06-01T12:00:00Z' }, secret, { now: at }))).toBe('INVALID_TIMESTAMP');
    expect(rejection(() => verifyStandardWebhook(body, headers, 'whsec_not*base64', { now: at }))).toBe('INVALID_SECRET');
    expect(rejection(() => verifyStandardWebhook(body, { ...headers, 'webhook-signature': 'v1,' }, secret, { now: at }))).toBe('INVALID_SIGNATURE');
  });

  it('verifies the exact bytes received, not a re-serialisation', () => {
    const spaced = '{ "type": "export.completed" }';
    const headers = signed({ payload: spaced });
    expect(verifyStandardWebhook(spaced, headers, secret, { now: at })).toEqual({ type: 'export.completed' });
    expect(rejection(() => verifyStandardWebhook(JSON.stringify(JSON.parse(spaced)), headers, secret, { now: at }))).toBe('INVALID_SIGNATURE');
  });

  it('insists on the raw body rather than a parsed object', () => {
    expect(() => verifyStandardWebhook({ type: 'x' } as never, signed(), secret, { now: at })).toThrow(/raw request body/);
  });
});
