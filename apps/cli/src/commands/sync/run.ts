import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { FerryApiError, unwrap, type FerryClient } from '@ferry/client';
import { FerryError } from '@ferry/core';
import { formatBytes } from '../output.js';
import type { DeltaCounts, FetchedFile, SyncPosition, SyncTarget } from './target.js';

export interface SyncOptions {
  client: FerryClient;
  target: SyncTarget;
  dataset: string;
  /** Re-seed from the latest snapshot even when a cursor is stored. */
  full?: boolean;
  /** A fresh path for a downloaded file, beside the target (same disk; removed after use). */
  scratchPath: (kind: 'snapshot' | 'delta') => string;
  /** Progress, one line each. */
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface SyncResult {
  dataset: string;
  position: SyncPosition;
  rows: number;
  /** Why this run loaded a snapshot, or null when it only applied changes. */
  seeded: 'first run' | 'asked (--full)' | 'cursor pruned' | 'columns changed' | null;
  applied: DeltaCounts;
}

/**
 * Bring the target up to the dataset's latest version, as seed 002's sync guide does it: seed from
 * the snapshot when there is no cursor, then apply the changes since the cursor (one coalesced
 * delta, whatever the number of versions in between). A pruned cursor (410) or a change of the
 * dataset's columns re-seeds.
 */
export async function syncDataset(o: SyncOptions): Promise<SyncResult> {
  const { client, target, dataset, log } = o;
  const described = unwrap(await client.GET('/datasets/{key}', { params: { path: { key: dataset } }, signal: o.signal }));
  const primaryKey = described.primaryKey ?? [];
  if (primaryKey.length === 0) {
    throw new FerryError('VALIDATION_FAILED', `dataset ${dataset} has no primary key, so it is not versioned and cannot be synced`);
  }

  let position = o.full ? null : await target.position();
  if (position && position.dataset !== dataset) {
    throw new FerryError('CONFLICT', `${target.description} is a copy of dataset ${position.dataset}, not ${dataset}: choose another --table`);
  }
  let seeded: SyncResult['seeded'] = null;
  const applied: DeltaCounts = { insert: 0, update: 0, delete: 0 };
  const seed = async (why: NonNullable<SyncResult['seeded']>) => {
    seeded = why;
    log(`${dataset}: downloading the latest snapshot (${why})`);
    const snapshot = await fetchFile(o, 'snapshot', {});
    try {
      log(`${dataset}: applying snapshot v${snapshot.position.version} (${snapshot.rows.toLocaleString('en-US')} rows) into ${target.description}`);
      await target.loadSnapshot(snapshot);
    } finally {
      await rm(snapshot.path, { force: true });
    }
    return snapshot.position;
  };

  if (!position) position = await seed(o.full ? 'asked (--full)' : 'first run');
  for (let reseeds = 0; ; ) {
    let delta: FetchedFile;
    try {
      log(`${dataset}: downloading the changes since v${position.version}`);
      delta = await fetchFile(o, 'delta', { since: position.cursor });
    } catch (err) {
      if (err instanceof FerryApiError && err.status === 410 && reseeds++ === 0) {
        log(`${dataset}: cursor ${position.cursor} (v${position.version}) was pruned on the server; re-seeding`);
        position = await seed('cursor pruned');
        continue;
      }
      if (err instanceof FerryApiError && err.status === 404 && err.path === 'query.since') {
        log(`${dataset}: the server does not know the stored cursor (was ${target.description} synced from another Ferry?); --full re-seeds it`);
      }
      throw err;
    }
    try {
      if (delta.position.cursor === position.cursor && delta.rows === 0) break;
      log(`${dataset}: applying delta v${position.version} -> v${delta.position.version} (${delta.rows.toLocaleString('en-US')} rows) into ${target.description}`);
      const counts = await target.applyDelta(delta, primaryKey);
      if (counts === 'schema-changed') {
        if (reseeds++ > 0) throw new FerryError('CONFLICT', `the changes of ${dataset} do not have the columns of its snapshot`);
        log(`${dataset}: the dataset's columns changed; re-seeding`);
        position = await seed('columns changed');
        continue;
      }
      applied.insert += counts.insert;
      applied.update += counts.update;
      applied.delete += counts.delete;
      position = delta.position;
      break;
    } finally {
      await rm(delta.path, { force: true });
    }
  }
  return { dataset, position, rows: await target.rowCount(), seeded, applied };
}

/** Stream a snapshot or a delta, as Parquet (types and all), into a scratch file; what its headers say. */
async function fetchFile(o: SyncOptions, kind: 'snapshot' | 'delta', query: { since?: string }): Promise<FetchedFile> {
  const { client, dataset } = o;
  const path = { dataset };
  const result =
    kind === 'snapshot'
      ? await client.GET('/sync/{dataset}/snapshot', { params: { path, query: { format: 'parquet', compression: 'none' } }, parseAs: 'stream', signal: o.signal })
      : await client.GET('/sync/{dataset}/deltas', { params: { path, query: { since: query.since!, format: 'parquet', compression: 'none' } }, parseAs: 'stream', signal: o.signal });
  const body = unwrap(result) as unknown as NodeReadableStream<Uint8Array> | null;
  const header = (name: string) => {
    const value = result.response.headers.get(name);
    if (value === null) throw new FerryError('INTERNAL', `the ${kind} answer has no ${name} header (is a proxy dropping it?)`);
    return value;
  };
  const position = { dataset, cursor: header('ferry-cursor'), version: Number(header('ferry-version')) };
  const rows = Number(header('ferry-row-count'));
  const file = o.scratchPath(kind);
  try {
    await pipeline(body ? Readable.fromWeb(body) : Readable.from([]), createWriteStream(file), o.signal ? { signal: o.signal } : {});
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  o.log(`${dataset}: downloaded the ${kind} of v${position.version} (${formatBytes((await stat(file)).size)})`);
  return { path: file, position, rows };
}
