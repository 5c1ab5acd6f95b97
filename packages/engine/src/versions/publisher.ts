import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { RecordBatch } from 'apache-arrow';
import {
  FerryError,
  createCatalog,
  resolveQuery,
  type Catalog,
  type DatasetDefinition,
  type DatasetVersion,
  type SnapshotEngine,
} from '@ferry/core';
import { Scratch, fileBody, scratchRoot } from './files.js';
import type { ExportWorkerDeps } from '../export-worker.js';
import { versionEvent } from './version-view.js';
import { recordEvents } from '../outbox.js';

/** What the export runner reads from (no download links), plus the snapshot engine. */
export type VersionDeps = Omit<ExportWorkerDeps, 'links'> & {
  snapshots: SnapshotEngine;
  /** Base of the URLs in events (`server.publicUrl`), read at publish time. */
  publicUrl: () => string;
  /** Scratch space for snapshot files; default the OS temp dir. */
  tmpDir?: string;
  /** Called after a version is recorded, so an in-process delivery worker sends its events at once. */
  onPublished?: () => void;
};

const PARQUET = 'application/vnd.apache.parquet';

/** Opaque and unguessable: a cursor is a capability to read changes, not a counter. */
export function newCursor(): string {
  return `cur_${randomBytes(18).toString('base64url')}`;
}

/** A catalog dataset that can be versioned: it has a primary key. */
export function versionedDataset(catalog: Catalog, key: string): DatasetDefinition & { primaryKey: string[] } {
  const dataset = catalog.get(key);
  if (!dataset) throw new FerryError('NOT_FOUND', `no dataset "${key}"`);
  if (!dataset.primaryKey?.length) {
    throw new FerryError('VALIDATION_FAILED', `dataset "${key}" has no primaryKey; versions and deltas need one (set primaryKey in its catalog definition)`, {
      path: ['primaryKey'],
    });
  }
  return dataset as DatasetDefinition & { primaryKey: string[] };
}

/**
 * Publishes dataset versions: materialize the dataset as a Parquet snapshot, diff it against the
 * previous snapshot by primary key (in the SnapshotEngine, not in JS), store both files, then
 * record the version and its `dataset.version.published` events in one transaction.
 */
export class VersionPublisher {
  /** One publish per dataset at a time in this process; across processes the store decides. */
  readonly #running = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: VersionDeps) {
    // At start: what a publish killed mid-way left in scratch goes now, not at the next publish.
    scratchRoot(deps.tmpDir ?? tmpdir()).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'could not prepare the versions scratch directory'));
  }

  publish(datasetKey: string, opts: { signal?: AbortSignal } = {}): Promise<DatasetVersion> {
    const previous = this.#running.get(datasetKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.#publish(datasetKey, opts.signal ?? new AbortController().signal));
    this.#running.set(datasetKey, run);
    void run.finally(() => {
      if (this.#running.get(datasetKey) === run) this.#running.delete(datasetKey);
    }).catch(() => undefined);
    return run;
  }

  async #publish(datasetKey: string, signal: AbortSignal): Promise<DatasetVersion> {
    const { jobs, store, snapshots, logger } = this.deps;
    const dataset = versionedDataset(this.deps.catalog, datasetKey);
    const scratch = await Scratch.create(this.deps.tmpDir ?? tmpdir());
    const uploaded: string[] = [];
    try {
      const latest = await jobs.versions.find(datasetKey, { latest: true });
      const next = await this.#materialize(dataset, scratch, signal);
      const prev = latest ? await scratch.download(store, latest.snapshotKey, 'prev.parquet', signal) : null;
      const deltaFile = scratch.path('delta.parquet');
      const stats = await snapshots.diff(prev, next, dataset.primaryKey, deltaFile);
      const counters = await snapshots.counters(next, dataset.versioning?.counters ?? {});

      const versionNumber = (latest?.versionNumber ?? 0) + 1;
      const cursor = newCursor();
      // The cursor in the key keeps a losing concurrent publish from touching the winner's files.
      const prefix = `versions/${datasetKey}/${String(versionNumber).padStart(8, '0')}-${cursor}`;
      for (const [name, file] of [['snapshot.parquet', next], ['delta.parquet', deltaFile]] as const) {
        const ref = await store.put(`${prefix}/${name}`, fileBody(file), { contentType: PARQUET, signal });
        uploaded.push(ref.key);
      }
      const base = this.deps.publicUrl();
      const version = {
        datasetKey,
        versionNumber,
        cursor,
        previousCursor: latest?.cursor ?? null,
        changedRowCount: stats.changed,
        rowCount: stats.rows,
        counters,
        publishedAt: new Date(),
        snapshotKey: uploaded[0]!,
        deltaKey: uploaded[1]!,
      };
      // Every account gets its own dataset.version.published, committed with the version.
      const recorded = await jobs.transaction(async (tx) => {
        if (!(await tx.versions.insert(version))) return null;
        const accounts = await tx.accounts.list();
        await recordEvents(tx, accounts.map((a) => versionEvent({ ...version, prunedAt: null }, a.id, base)));
        return { ...version, prunedAt: null };
      });
      if (!recorded) throw new FerryError('TRANSIENT', `another publish of "${datasetKey}" recorded version ${versionNumber} first; publish again`);
      uploaded.length = 0;
      this.deps.onPublished?.();
      logger.info({ dataset: datasetKey, version: versionNumber, rows: stats.rows, changed: stats.changed }, 'dataset version published');
      await this.#prune(dataset, recorded.versionNumber);
      return recorded;
    } finally {
      // Files of a publish that did not commit are orphans: remove them.
      await Promise.all(uploaded.map((key) => store.delete(key).catch(() => undefined)));
      await scratch.remove();
    }
  }

  /** Every exportable column, no aggregates, through the source and the configured Parquet writer. */
  async #materialize(dataset: DatasetDefinition, scratch: Scratch, signal: AbortSignal): Promise<string> {
    // Found by what it writes, not by its slot's name.
    const writer = [...this.deps.formats.values()].find((w) => w.mediaType === PARQUET);
    if (!writer) throw new FerryError('INVALID_CONFIG', 'versions are stored as Parquet: configure a Parquet format (e.g. {"use": "parquet"})', { path: ['formats'] });
    const source = this.deps.sources.get(dataset.source);
    if (!source) throw new FerryError('INVALID_CONFIG', `dataset "${dataset.key}" names source "${dataset.source}", which is not configured`);
    const maxRows = dataset.versioning?.maxRows ?? dataset.limits.maxRows;
    // One row past the limit tells a full dataset from a truncated one: a truncated snapshot would
    // publish the missing rows as deletes.
    const catalog = createCatalog([{ ...dataset, limits: { maxRows: maxRows + 1 } }]);
    const scopes = dataset.columns.filter((c) => c.exportable).map((c) => ({ column: c.name }));
    const resolved = resolveQuery(catalog, { from: dataset.key, scopes, orderBy: null, limit: maxRows + 1 });
    const rows = await source.open(resolved, { signal });
    let count = 0;
    const counted = async function* (batches: AsyncIterable<RecordBatch>): AsyncIterable<RecordBatch> {
      for await (const batch of batches) {
        count += batch.numRows;
        if (count > maxRows) {
          throw new FerryError('LIMIT_EXCEEDED', `dataset "${dataset.key}" has more than ${maxRows} rows; raise versioning.maxRows to publish it`, {
            path: ['versioning', 'maxRows'],
          });
        }
        yield batch;
      }
    };
    return scratch.write('snapshot.parquet', writer.write(rows.schema, counted(rows.batches), { signal }), signal);
  }

  /** Keep the newest `retainVersions`; delete older files first, then mark them (a crash only repeats a delete). */
  async #prune(dataset: DatasetDefinition, latest: number): Promise<void> {
    const keep = dataset.versioning?.retainVersions;
    if (!keep || latest <= keep) return;
    const { jobs, store, logger } = this.deps;
    // Versions are pruned oldest first, so the unpruned ones are the newest of those past the window.
    const past = await jobs.versions.list(dataset.key, { throughVersion: latest - keep, order: 'desc', limit: 100 });
    const stop = past.findIndex((x) => x.prunedAt !== null);
    for (const v of (stop < 0 ? past : past.slice(0, stop)).reverse()) {
      await store.delete(v.snapshotKey);
      await store.delete(v.deltaKey);
      await jobs.versions.markPruned(dataset.key, v.versionNumber, new Date());
      logger.info({ dataset: dataset.key, version: v.versionNumber }, 'dataset version pruned');
    }
  }
}
