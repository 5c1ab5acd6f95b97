import type { WorkKind } from '@ferry/core';
import { AsyncMutex } from './async-mutex.js';

/**
 * What the stores open on one file in this process share: the mutex that serialises their
 * transactions, and the listeners for new work. SQLite serialises writers across connections by
 * making the later one wait, synchronously, for the lock; a second store in the same process would
 * so block the event loop that the first store needs to finish its transaction. Queuing on one
 * async mutex instead lets them take turns.
 */
export interface SharedFile {
  readonly mutex: AsyncMutex;
  readonly listeners: Record<WorkKind, Set<() => void>>;
}

const open = new Map<string, { shared: SharedFile; stores: number }>();

const fresh = (): SharedFile => ({ mutex: new AsyncMutex(), listeners: { exports: new Set(), deliveries: new Set() } });

/** The state for `key` (a resolved file path; null for a private in-memory database). */
export function acquireSharedFile(key: string | null): SharedFile {
  if (key === null) return fresh();
  let entry = open.get(key);
  if (!entry) {
    entry = { shared: fresh(), stores: 0 };
    open.set(key, entry);
  }
  entry.stores++;
  return entry.shared;
}

export function releaseSharedFile(key: string | null): void {
  if (key === null) return;
  const entry = open.get(key);
  if (entry && --entry.stores === 0) open.delete(key);
}
