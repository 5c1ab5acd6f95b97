import type { JobStoreParts } from '@ferry/core';
import type { SqlExecutor } from '../executor.js';
import { SqliteAccounts } from './accounts.js';
import { SqliteDeliveries } from './deliveries.js';
import { SqliteEndpoints } from './endpoints.js';
import { SqliteEvents } from './events.js';
import { SqliteExports } from './exports.js';
import { SqliteSchedules } from './schedules.js';
import { SqliteSettings } from './settings.js';
import { SqliteVersions } from './versions.js';

export function sqliteParts(executor: SqlExecutor): JobStoreParts {
  return {
    accounts: new SqliteAccounts(executor),
    settings: new SqliteSettings(executor),
    exports: new SqliteExports(executor),
    endpoints: new SqliteEndpoints(executor),
    events: new SqliteEvents(executor),
    deliveries: new SqliteDeliveries(executor),
    versions: new SqliteVersions(executor),
    schedules: new SqliteSchedules(executor),
  };
}

/** How a call on a part runs: alone (after waiting its turn) or inside a transaction that is still open. */
export type CallRunner = <T>(call: () => Promise<T>) => Promise<T>;

/** The same parts, each method call passed through `run`. */
export function runParts(parts: JobStoreParts, run: CallRunner): JobStoreParts {
  return {
    accounts: runPart(parts.accounts, run),
    settings: runPart(parts.settings, run),
    exports: runPart(parts.exports, run),
    endpoints: runPart(parts.endpoints, run),
    events: runPart(parts.events, run),
    deliveries: runPart(parts.deliveries, run),
    versions: runPart(parts.versions, run),
    schedules: runPart(parts.schedules, run),
  };
}

function runPart<P extends object>(part: P, run: CallRunner): P {
  const wrapped: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
    const method: unknown = (part as Record<string, unknown>)[name];
    if (name === 'constructor' || typeof method !== 'function') continue;
    wrapped[name] = (...args: unknown[]) => run(() => (method as (...a: unknown[]) => Promise<unknown>).apply(part, args));
  }
  return Object.freeze(wrapped) as P;
}
