import { FerryError } from './errors.js';

/**
 * Object keys are relative, slash-separated paths. Refusing traversal here, not in each store,
 * keeps one definition of a safe key.
 */
export function assertSafeKey(key: string, plugin: string): void {
  const bad = (why: string) => new FerryError('INVALID_KEY', `object key ${why}`, { plugin, path: ['key'] });
  if (typeof key !== 'string' || key.length === 0) throw bad('must not be empty');
  if (key.length > 1024) throw bad('is longer than 1024 characters');
  if (key.includes('\0')) throw bad('contains NUL');
  if (key.includes('\\')) throw bad('contains a backslash');
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) throw bad('must be relative');
  if (key.split('/').some((part) => part === '' || part === '.' || part === '..')) throw bad('has an empty, "." or ".." segment');
}
