import { describe, expect, it } from 'vitest';
import { FerryError, formatPath, isFerryError } from './errors.js';

describe('FerryError', () => {
  it('is retryable by default only for TRANSIENT and STORAGE_FULL, and a caller may say otherwise', () => {
    expect(new FerryError('TRANSIENT', 'x').retryable).toBe(true);
    expect(new FerryError('STORAGE_FULL', 'x').retryable).toBe(true);
    expect(new FerryError('NOT_FOUND', 'x').retryable).toBe(false);
    expect(new FerryError('INVALID_KEY', 'x').retryable).toBe(false);
    expect(new FerryError('NOT_FOUND', 'x', { retryable: true }).retryable).toBe(true);
    expect(new FerryError('TRANSIENT', 'x', { retryable: false }).retryable).toBe(false);
  });

  it('answers with code, message, dotted path and plugin only: never the cause', () => {
    const cause = new Error('connect to postgres://ferry:s3cret@db failed');
    const err = new FerryError('TRANSIENT', 'the job store is unavailable', { cause, path: ['dataset', 'filters', 1, 'column'], plugin: 'jobs:postgres' });
    expect(err.toJSON()).toEqual({
      error: { code: 'TRANSIENT', message: 'the job store is unavailable', path: 'dataset.filters[1].column', plugin: 'jobs:postgres' },
    });
    expect(JSON.stringify(err)).not.toContain('s3cret');
    expect(new FerryError('NOT_FOUND', 'no such export').toJSON()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such export' } });
  });

  it('keeps the cause for logs, and has none when given none', () => {
    const cause = new Error('root');
    expect(new FerryError('TRANSIENT', 'x', { cause }).cause).toBe(cause);
    expect('cause' in new FerryError('TRANSIENT', 'x')).toBe(false);
  });

  it('carries its HTTP status and name', () => {
    const err = new FerryError('STORAGE_FULL', 'disk full', { retryAfterSeconds: 30 });
    expect(err).toMatchObject({ name: 'FerryError', status: 503, retryAfterSeconds: 30 });
    expect(isFerryError(err)).toBe(true);
    expect(isFerryError(new Error('plain'))).toBe(false);
  });

  it('formats paths as a client writes them', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath([0, 'a'])).toBe('[0].a');
    expect(formatPath(['notifier', 'options', 'allowCidrs', 2])).toBe('notifier.options.allowCidrs[2]');
  });
});
