import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { clientConfig, redact, secretsOf, toFerryError } from './connection.js';

const URL_WITH_PASSWORD = 'postgres://ferry:p%40ss%2Fw0rd@127.0.0.1:5432/ferry';

describe('what the job store keeps out of its errors and logs', () => {
  it('lists the connection string and its password, raw and decoded, longest first', () => {
    expect(secretsOf(URL_WITH_PASSWORD)).toEqual([URL_WITH_PASSWORD, 'p%40ss%2Fw0rd', 'p@ss/w0rd']);
    expect(secretsOf('postgres://ferry@127.0.0.1/ferry')).toEqual(['postgres://ferry@127.0.0.1/ferry']);
    // Not a URL (a libpq keyword string): the whole of it is the secret.
    expect(secretsOf('host=127.0.0.1 password=hunter2')).toEqual(['host=127.0.0.1 password=hunter2']);
  });

  it('replaces every occurrence of every secret with ***', () => {
    expect(redact('auth failed for p@ss/w0rd (p@ss/w0rd)', secretsOf(URL_WITH_PASSWORD))).toBe('auth failed for *** (***)');
    expect(redact(`cannot reach ${URL_WITH_PASSWORD}`, secretsOf(URL_WITH_PASSWORD))).toBe('cannot reach ***');
    expect(redact('nothing secret here', secretsOf(URL_WITH_PASSWORD))).toBe('nothing secret here');
  });

  it('turns a driver error into a FerryError without the password, and drops a cause that held it', () => {
    const secrets = secretsOf(URL_WITH_PASSWORD);
    const leaking = Object.assign(new Error('password authentication failed: p@ss/w0rd'), { code: '28P01' });
    const err = toFerryError(leaking, secrets, 'claiming exports');
    expect(err).toBeInstanceOf(FerryError);
    expect(err.code).toBe('INTERNAL');
    expect(err.plugin).toBe('jobs:postgres');
    expect(err.message).toBe('PostgreSQL job store: claiming exports failed: password authentication failed: ***');
    expect(err.cause).toBeUndefined();
    expect(JSON.stringify(err)).not.toContain('w0rd');

    const clean = Object.assign(new Error('relation "exports" does not exist'), { code: '42P01' });
    expect(toFerryError(clean, secrets, 'reading').cause).toBe(clean);
    expect(toFerryError('a thrown string', secrets, 'reading').message).toBe('PostgreSQL job store: reading failed: a thrown string');
  });

  it('passes a FerryError through unchanged', () => {
    const original = new FerryError('NOT_FOUND', 'no such export');
    expect(toFerryError(original, [], 'reading')).toBe(original);
  });

  it('says which failures another attempt can cure: lost connections, restarts, too many clients, serialization and deadlocks', () => {
    const codeOf = (code: string | undefined, message = 'failed') => toFerryError(Object.assign(new Error(message), code === undefined ? {} : { code }), [], 'x').code;
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', '08006', '08001', '57P01', '57P03', '53300', '40001', '40P01']) {
      expect(codeOf(code), code).toBe('TRANSIENT');
    }
    for (const message of ['Connection terminated unexpectedly', 'timeout exceeded when trying to connect', 'Client has encountered a connection error and is not queryable']) {
      expect(codeOf(undefined, message), message).toBe('TRANSIENT');
    }
    expect(codeOf('23505')).toBe('CONFLICT');
    for (const code of ['42P01', '22P02', '53100', '40000', '42601', 'E08', '']) expect(codeOf(code), code).toBe('INTERNAL');
    expect(codeOf(undefined)).toBe('INTERNAL');
    expect(toFerryError({ code: 'ECONNRESET' }, [], 'x').code).toBe('TRANSIENT');
    expect(toFerryError({ code: 57 }, [], 'x').code).toBe('INTERNAL');
  });

  it('gives every client a connect timeout and TCP keep-alive, so a dead server fails calls instead of hanging them', () => {
    expect(clientConfig(URL_WITH_PASSWORD, 'ferry-worker')).toEqual({
      connectionString: URL_WITH_PASSWORD,
      application_name: 'ferry-worker',
      connectionTimeoutMillis: 15_000,
      keepAlive: true,
    });
  });
});
