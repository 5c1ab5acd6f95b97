import { connect } from 'node:net';
import { describe, it } from 'vitest';

/**
 * Local services for tests. Only 127.0.0.1: a test never reaches another host.
 *
 * A suite that needs a service which is not running is skipped locally, with the reason printed,
 * and fails when `CI=true` (CI runs with every service up, so absence there is a broken setup,
 * not a reason to pass). A skip is never used for anything else.
 */

export interface PostgresService {
  host: '127.0.0.1';
  port: number;
  database: string;
  user: string;
  /** For drivers that take a URL. Trust auth: no password. */
  url: string;
}

export const POSTGRES: PostgresService = {
  host: '127.0.0.1',
  port: 5432,
  database: 'test',
  user: 'postgres',
  url: 'postgres://postgres@127.0.0.1:5432/test',
};

/** Resolves to null when something accepts TCP connections on 127.0.0.1:`port`, else to the reason. */
export function probeTcp(port: number, timeoutMs = 1500): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (reason: string | null): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from 127.0.0.1:${port} within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`127.0.0.1:${port} is unreachable (${err.code ?? err.message})`));
  });
}

/**
 * `describe` for a suite that needs a service: runs `body` when `probe` found it; otherwise a
 * visible skip locally, and under CI=true a failing test that names the missing service.
 */
export function describeWithService<S>(name: string, service: { label: string; value: S; unavailable: string | null }, body: (value: S) => void): void {
  const { unavailable } = service;
  if (unavailable === null) {
    describe(name, () => body(service.value));
    return;
  }
  const reason = `${service.label} is not available: ${unavailable}`;
  if (process.env['CI'] === 'true') {
    describe(name, () => {
      it(`needs ${service.label}`, () => {
        throw new Error(`${reason} (CI=true: a missing service fails the build)`);
      });
    });
    return;
  }
  console.warn(`[ferry/testing] skipping "${name}": ${reason}`);
  describe.skip(`${name} (skipped: ${reason})`, () => {
    it('needs the service', () => undefined);
  });
}

/**
 * Probe PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`). Use with top-level await in a
 * test file: `const pg = await requirePostgres(); describePostgres('...', pg, (service) => { ... })`.
 */
export async function requirePostgres(): Promise<{ label: string; value: PostgresService; unavailable: string | null }> {
  return { label: 'PostgreSQL', value: POSTGRES, unavailable: await probeTcp(POSTGRES.port) };
}

export const describePostgres = describeWithService<PostgresService>;
