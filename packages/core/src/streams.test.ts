import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collectBytes, measure, tapBytes, throwIfAborted } from './streams.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('byte streams', () => {
  it('measure counts and hashes what passes through, as stores record it', async () => {
    const { body, result } = measure(chunks('hello ', 'world'), undefined);
    expect((await collectBytes(body)).toString()).toBe('hello world');
    expect(result.size).toBe(11);
    expect(result.sha256()).toBe(createHash('sha256').update('hello world').digest('hex'));
    expect(result.sha256()).toBe(result.sha256());
    expect(result.bodyError).toBeUndefined();
  });

  it('measure fails a body aborted after its last chunk, so a cancelled put never completes', async () => {
    const ac = new AbortController();
    const { body, result } = measure(chunks('a'), ac.signal);
    const it = body[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    ac.abort(new Error('cancelled'));
    await expect(it.next()).rejects.toThrow('cancelled');
    expect(result.bodyError).toBeInstanceOf(Error);
  });

  it('measure keeps the error the caller’s body threw, to rethrow it unchanged', async () => {
    const broken = (async function* () {
      yield Buffer.from('a');
      throw new Error('source broke');
    })();
    const { body, result } = measure(broken, undefined);
    await expect(collectBytes(body)).rejects.toThrow('source broke');
    expect((result.bodyError as Error).message).toBe('source broke');
    expect(result.size).toBe(1);
  });

  it('tapBytes sees every chunk in order and passes them on', async () => {
    const seen: string[] = [];
    const out = await collectBytes(tapBytes(chunks('a', 'b', 'c'), (c) => seen.push(Buffer.from(c).toString())));
    expect(out.toString()).toBe('abc');
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('throwIfAborted throws the abort reason, or a plain error for a non-Error reason', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    expect(() => throwIfAborted(ac.signal)).toThrow('stop now');
    const bare = new AbortController();
    bare.abort('just a string');
    expect(() => throwIfAborted(bare.signal)).toThrow('aborted');
  });
});

describe('byte streams at their edges', () => {
  it('collects nothing to an empty buffer', async () => {
    expect((await collectBytes(chunks())).length).toBe(0);
  });

  it('measure passes nothing of a body aborted before it starts, and keeps the reason', async () => {
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    const seen: string[] = [];
    const { body, result } = measure(
      tapBytes(chunks('a', 'b'), (c) => seen.push(Buffer.from(c).toString())),
      ac.signal,
    );
    await expect(collectBytes(body)).rejects.toThrow('shutting down');
    expect(result.size).toBe(0);
    expect(result.sha256()).toBe(createHash('sha256').digest('hex'));
    expect((result.bodyError as Error).message).toBe('shutting down');
    expect(seen).toEqual(['a']);
  });

  it('measure hashes an empty body as the empty string', async () => {
    const { body, result } = measure(chunks(), new AbortController().signal);
    expect((await collectBytes(body)).length).toBe(0);
    expect(result).toMatchObject({ size: 0, bodyError: undefined });
    expect(result.sha256()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('throwIfAborted rethrows the platform’s own AbortError when no reason was given', () => {
    const ac = new AbortController();
    ac.abort();
    expect(() => throwIfAborted(ac.signal)).toThrow(expect.objectContaining({ name: 'AbortError' }));
  });
});
