import { describe, expect, it } from 'vitest';
import { FerryError } from './errors.js';
import { assertSafeKey } from './keys.js';

/** Every store trusts this check to keep an object key inside its bucket or root directory. */
describe('assertSafeKey', () => {
  it.each(['exports/2f1c/part-1.csv.gz', 'a', 'a/b/c.d', '..hidden/file', 'x..y/z', 'a'.repeat(1024)])('accepts %j', (key) => {
    expect(() => assertSafeKey(key, 'store:test')).not.toThrow();
  });

  it.each([
    ['', 'must not be empty'],
    ['a'.repeat(1025), 'is longer than 1024 characters'],
    ['exports/a\0.csv', 'contains NUL'],
    ['exports\\..\\secrets', 'contains a backslash'],
    ['/etc/passwd', 'must be relative'],
    ['C:/Windows/win.ini', 'must be relative'],
    ['c:relative', 'must be relative'],
    ['../outside', 'has an empty, "." or ".." segment'],
    ['exports/../../outside', 'has an empty, "." or ".." segment'],
    ['exports/./file', 'has an empty, "." or ".." segment'],
    ['exports//file', 'has an empty, "." or ".." segment'],
    ['exports/', 'has an empty, "." or ".." segment'],
    ['exports/..', 'has an empty, "." or ".." segment'],
  ])('refuses %j: %s', (key, why) => {
    let caught: unknown;
    try {
      assertSafeKey(key, 'store:test');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FerryError);
    expect(caught).toMatchObject({ code: 'INVALID_KEY', status: 400, message: `object key ${why}`, plugin: 'store:test', path: ['key'] });
  });

  it('refuses a key that is not a string at all', () => {
    expect(() => assertSafeKey(undefined as unknown as string, 'store:test')).toThrow('object key must not be empty');
  });

  it('accepts a drive-like colon that is not at the start', () => {
    expect(() => assertSafeKey('exports/C:/file', 'store:test')).not.toThrow();
  });
});
