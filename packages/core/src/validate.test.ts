import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FerryError } from './errors.js';
import { parseOrThrow } from './validate.js';

const Slot = z.strictObject({
  port: z.int().min(1, 'port is at least 1'),
  host: z.string().default('127.0.0.1'),
  tags: z.array(z.string().min(1, 'a tag is not empty')).optional(),
});

function caught(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected a FerryError');
}

describe('parseOrThrow', () => {
  it('returns the parsed value, defaults and all', () => {
    expect(parseOrThrow(Slot, { port: 8080 })).toEqual({ port: 8080, host: '127.0.0.1' });
  });

  it('turns the first issue into a 400 VALIDATION_FAILED at its path, with no plugin', () => {
    const err = caught(() => parseOrThrow(Slot, { port: 0, tags: ['a', ''] }));
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, message: 'port is at least 1', path: ['port'] });
    expect(err.plugin).toBeUndefined();
    expect(caught(() => parseOrThrow(Slot, { port: 1, tags: ['a', ''] })).path).toEqual(['tags', 1]);
  });

  it('puts the base path in front and uses the code and plugin it is given', () => {
    const err = caught(() => parseOrThrow(Slot, { port: 1, tags: [''] }, { basePath: ['stores', 0, 'options'], code: 'INVALID_OPTIONS', plugin: 'store:local' }));
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS', message: 'a tag is not empty', path: ['stores', 0, 'options', 'tags', 0], plugin: 'store:local' });
    expect(caught(() => parseOrThrow(Slot, 'x', { basePath: ['stores'] })).path).toEqual(['stores']);
  });

  it('names every unknown field in one message', () => {
    expect(caught(() => parseOrThrow(Slot, { port: 1, prot: 2, hots: 'x' }))).toMatchObject({ message: 'unknown field(s): prot, hots', path: [] });
  });

  it('writes a symbol path segment as text, so the path stays printable', () => {
    const schema = z.string().superRefine((_v, ctx) => ctx.addIssue({ code: 'custom', message: 'bad', path: [Symbol('meta')] }));
    expect(caught(() => parseOrThrow(schema, 'x', { basePath: ['a'] })).path).toEqual(['a', 'Symbol(meta)']);
  });
});

describe('parseOrThrow on records', () => {
  const Counters = z.record(z.string().regex(/^[a-z]+$/, 'counter names are lower case'), z.string());

  it('gives the key’s own message for a bad record key, at the key', () => {
    expect(caught(() => parseOrThrow(Counters, { units: 'a', Bad: 'b' }, { basePath: ['versioning', 'counters'] }))).toMatchObject({
      message: 'counter names are lower case',
      path: ['versioning', 'counters', 'Bad'],
    });
  });

  it('keeps zod’s message for a bad value', () => {
    expect(caught(() => parseOrThrow(Counters, { units: 1 }))).toMatchObject({ message: 'Invalid input: expected string, received number', path: ['units'] });
  });
});
