import { describe, expect, it } from 'vitest';
import { DownloadLinks } from '@ferry/engine';
import { logSerializers, redactUrl } from './log-serializers.js';

const links = new DownloadLinks(Buffer.alloc(32, 7).toString('base64url'), 'http://127.0.0.1:8080');
const expiresAt = new Date('2031-01-01T00:00:00Z');
/** Real tokens, as the server signs them: the only file, a part, and a manifest. */
const tokens = [
  links.token({ exportId: '6f1c1f2e-8b1d-4c53-9a57-0e3f5a1b2c3d', expiresAt }),
  links.token({ exportId: '6f1c1f2e-8b1d-4c53-9a57-0e3f5a1b2c3d', expiresAt, file: 12 }),
  links.token({ exportId: '6f1c1f2e-8b1d-4c53-9a57-0e3f5a1b2c3d', expiresAt, file: 'manifest' }),
];

/** Every character percent-encoded, as a client (or an attacker) may send it. */
const encodeAll = (s: string): string => Array.from(s, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`).join('');

function expectNoToken(logged: string, token: string): void {
  const [body, mac] = token.split('.') as [string, string];
  expect(logged).not.toContain(body);
  expect(logged).not.toContain(mac);
  expect(decodeURIComponent(decodeURIComponent(logged))).not.toContain(mac);
}

describe('request log lines', () => {
  it.each(tokens.map((t, i) => [i, t]))('never carry a download token (%i) on the documented path', (_i, token) => {
    expect(redactUrl(`/downloads/${token}`)).toBe('/downloads/<redacted>');
    expect(redactUrl(`/downloads/${token}?x=1`)).toBe('/downloads/<redacted>?x=1');
  });

  const token = tokens[0]!;
  it.each([
    ['percent-encoded path', `/%64ownloads/${token}`, '/%64ownloads/<redacted>'],
    ['doubled slash', `//downloads/${token}`, '//downloads/<redacted>'],
    ['dot segment', `/./downloads/${token}`, '/./downloads/<redacted>'],
    ['dot-dot segment', `/x/../downloads/${token}`, '/x/../downloads/<redacted>'],
    ['upper case', `/DOWNLOADS/${token}`, '/DOWNLOADS/<redacted>'],
    ['encoded slash', `/downloads%2F${token}`, '/downloads%2F<redacted>'],
    ['encoded slash, lower-case hex', `/downloads%2f${token}`, '/downloads%2f<redacted>'],
    ['trailing path', `/downloads/${token}/extra`, '/downloads/<redacted>'],
    ['prefixed route', `/api/v1/downloads/${token}`, '/api/v1/downloads/<redacted>'],
    ['token with its dot encoded', `/downloads/${token.replace('.', '%2E')}`, '/downloads/<redacted>'],
    ['token wholly percent-encoded', `/downloads/${encodeAll(token)}`, '/downloads/<redacted>'],
    ['token double-encoded', `/downloads/${encodeAll(token).replace(/%/g, '%25')}`, '/downloads/<redacted>'],
    ['token in a query string', `/dataset/export?next=${token}`, '/dataset/export?next=<redacted>'],
    ['link in an encoded query', `/x?u=${encodeURIComponent(`http://h/downloads/${token}`)}`, '/x?u=http%3A%2F%2Fh%2Fdownloads%2F<redacted>'],
    ['token under another path', `/exports/${token}`, '/exports/<redacted>'],
    ['encoded query mark inside the path', `/downloads/${token}%3Fa=1`, '/downloads/<redacted>'],
    ['non-BMP characters before the token', `/😀😀/x?a=😀&t=${token}`, '/😀😀/x?a=😀&t=<redacted>'],
  ])('never carry a download token: %s', (_name, url, logged) => {
    expect(redactUrl(url)).toBe(logged);
    expectNoToken(redactUrl(url), token);
  });

  it('leaves other URLs as they are', () => {
    for (const url of [
      '/dataset/export/6f1c1f2e-8b1d-4c53-9a57-0e3f5a1b2c3d',
      '/events?type=export.*&starting_after=evt_LcTuvSbcI9qWia4IWcy5Bmkg',
      '/webhooks/endpoints/ep_Q9yA20AuQ9yA20Au/rotate-secret',
      '/datasets/rentals',
      '/downloads',
      '/downloads/',
      '/healthz',
      '/%zz/odd%',
    ]) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('redacts the URL in the request serializer', () => {
    expect(logSerializers.req({ method: 'GET', url: `/%64ownloads/${token}`, ip: '127.0.0.1' })).toEqual({
      method: 'GET',
      url: '/%64ownloads/<redacted>',
      remoteAddress: '127.0.0.1',
    });
  });
});

describe('what is not a token', () => {
  it('keeps ordinary file names and ids readable', () => {
    const url = '/exports/6f1c1f2e-8b1d-4c53-9a57-0e3f5a1b2c3d/files/Seattle-Rental-Data-Export-2024-Q1.csv.gz';
    expect(redactUrl(url)).toBe(url);
  });
});
