import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { DownloadLinks } from './download-links.js';
import { parseRange } from './downloads.js';

const secret = Buffer.alloc(32, 7).toString('base64url');
const links = new DownloadLinks(secret, 'https://ferry.example.com/');
const claim = { exportId: '123e4567-e89b-12d3-a456-426614174000', expiresAt: new Date('2030-01-01T00:00:00Z') };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof FerryError ? err.code : 'not a FerryError';
  }
  return undefined;
}

describe('download links', () => {
  it('builds a URL under the public base and verifies its own token', () => {
    const url = links.url(claim);
    expect(url).toMatch(/^https:\/\/ferry\.example\.com\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(links.verify(url.split('/').pop()!, new Date('2029-12-31T23:59:59Z'))).toEqual(claim);
  });

  it('refuses a token whose body or signature was changed (403)', () => {
    const token = links.token(claim);
    const [body, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(`${claim.exportId}.${2_000_000_000}`).toString('base64url');
    expect(codeOf(() => links.verify(`${forged}.${mac}`))).toBe('TOKEN_INVALID');
    expect(codeOf(() => links.verify(`${body}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`))).toBe('TOKEN_INVALID');
    expect(codeOf(() => links.verify(`${body}`))).toBe('TOKEN_INVALID');
    expect(codeOf(() => links.verify('garbage.garbage.garbage'))).toBe('TOKEN_INVALID');
    expect(codeOf(() => new DownloadLinks(Buffer.alloc(32, 8).toString('base64url'), 'x').verify(token))).toBe('TOKEN_INVALID');
  });

  it('names a part or the manifest of a split export, and keeps the one-file token short', () => {
    expect(links.verify(links.token({ ...claim, file: 2 }), new Date('2029-01-01'))).toEqual({ ...claim, file: 2 });
    expect(links.verify(links.token({ ...claim, file: 'manifest' }), new Date('2029-01-01'))).toEqual({ ...claim, file: 'manifest' });
    expect(links.token({ ...claim, file: 0 })).toBe(links.token(claim));
  });

  it('refuses an expired token as gone (410)', () => {
    const token = links.token(claim);
    expect(codeOf(() => links.verify(token, new Date('2030-01-01T00:00:01Z')))).toBe('TOKEN_EXPIRED');
    expect(new FerryError('TOKEN_EXPIRED', 'x').status).toBe(410);
    expect(new FerryError('TOKEN_INVALID', 'x').status).toBe(403);
  });
});

describe('download link keys and edges', () => {
  const newKey = Buffer.alloc(32, 1);
  const oldKey = Buffer.alloc(32, 2);
  const at = new Date('2029-06-01T00:00:00Z');

  it('keeps links signed with a rotated-out key working, signs with the newest, and refuses unknown keys', () => {
    const before = new DownloadLinks([oldKey], 'https://ferry.example.com');
    const after = new DownloadLinks([newKey, oldKey], () => 'https://ferry.example.com');
    const oldLink = before.token(claim);
    expect(after.verify(oldLink, at)).toEqual(claim);
    const newLink = after.token(claim);
    expect(newLink).not.toBe(oldLink);
    expect(new DownloadLinks([newKey], 'x').verify(newLink, at)).toEqual(claim);
    expect(codeOf(() => new DownloadLinks([Buffer.alloc(32, 3)], 'x').verify(newLink, at))).toBe('TOKEN_INVALID');
  });

  it('refuses to start without a signing key', () => {
    expect(codeOf(() => new DownloadLinks([], 'https://ferry.example.com'))).toBe('INVALID_CONFIG');
  });

  it('refuses a token whose signature is cut short, or which has more parts, as invalid (403), not a crash', () => {
    const token = links.token(claim);
    expect(codeOf(() => links.verify(token.slice(0, -3), at))).toBe('TOKEN_INVALID');
    expect(codeOf(() => links.verify(`${token}.extra`, at))).toBe('TOKEN_INVALID');
  });

  it('refuses a signed token without an export id or a readable expiry', () => {
    expect(codeOf(() => links.verify(links.token({ exportId: '', expiresAt: claim.expiresAt }), at))).toBe('TOKEN_INVALID');
    expect(codeOf(() => links.verify(links.token({ exportId: claim.exportId, expiresAt: new Date(Number.NaN) }), at))).toBe('TOKEN_INVALID');
  });

  it('is expired from its expiry second on', () => {
    expect(codeOf(() => links.verify(links.token(claim), claim.expiresAt))).toBe('TOKEN_EXPIRED');
    expect(links.verify(links.token(claim), new Date(claim.expiresAt.getTime() - 1))).toEqual(claim);
  });

  it('reads the public URL when the link is made, without doubled slashes', () => {
    let base = 'http://127.0.0.1:0';
    const late = new DownloadLinks(secret, () => base);
    base = 'http://127.0.0.1:8080//';
    expect(late.url(claim)).toMatch(/^http:\/\/127\.0\.0\.1:8080\/downloads\/[^/]+$/);
  });
});

describe('byte ranges', () => {
  it('parses the forms HTTP allows, clamped to the object', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=95-200', 100)).toEqual({ start: 95, end: 99 });
  });

  it('refuses what cannot be served with 416', () => {
    for (const bad of ['bytes=100-', 'bytes=5-2', 'bytes=-0', 'bytes=-', 'items=0-1']) {
      expect(codeOf(() => parseRange(bad, 100)), bad).toBe('RANGE_NOT_SATISFIABLE');
    }
  });
});
