import { tmpdir } from 'node:os';
import {
  DeltaQuery,
  FerryError,
  SnapshotQuery,
  VersionListRequest,
  parseOrThrow,
  type Compression,
  type DatasetVersion,
  type FieldPath,
} from '@ferry/core';
import { COMPRESSION_MEDIA, compress } from '../compression.js';
import { contentDisposition } from '../downloads.js';
import { Scratch, fileBody } from './files.js';
import { versionedDataset, type VersionDeps, type VersionPublisher } from './publisher.js';
import { versionFields } from './version-view.js';
import { chooseOutput } from '../output-format.js';

export interface SyncResponse {
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
}

const PARQUET = 'application/vnd.apache.parquet';
const GZIP_LEVEL = 6;

/**
 * The sync API: the versions of a dataset, the changes since a cursor (several versions folded
 * into one file), and full snapshots. Responses stream; scratch files live until the body ends.
 */
export class SyncService {
  constructor(
    private readonly deps: VersionDeps,
    private readonly publisher: VersionPublisher,
  ) {}

  async publish(datasetKey: string) {
    return this.#view(await this.publisher.publish(datasetKey));
  }

  async list(datasetKey: string, query: unknown) {
    versionedDataset(this.deps.catalog, datasetKey);
    const q = parseOrThrow(VersionListRequest, query, { basePath: ['query'] });
    const rows = await this.deps.jobs.versions.list(datasetKey, {
      order: 'desc',
      limit: q.limit,
      ...(q.before !== undefined ? { throughVersion: q.before - 1 } : {}),
    });
    return { data: rows.map((v) => this.#view(v)), hasMore: rows.length === q.limit };
  }

  /** `GET /sync/:dataset/deltas?since=&until=&format=&compression=` */
  async deltas(datasetKey: string, query: unknown): Promise<SyncResponse> {
    const dataset = versionedDataset(this.deps.catalog, datasetKey);
    const q = parseOrThrow(DeltaQuery, query, { basePath: ['query'] });
    this.#checkOutput(q.format, q.compression);
    // The changes after `since` are the deltas of the versions after it: `since`'s own files may be
    // pruned (with retainVersions: 1, the version before the latest always is) while those are kept.
    const since = await this.#find(datasetKey, { cursor: q.since }, ['query', 'since']);
    const until = q.until ? await this.#version(datasetKey, { cursor: q.until }, ['query', 'until']) : await this.#version(datasetKey, { latest: true }, ['query', 'since']);
    if (until.versionNumber < since.versionNumber) {
      throw new FerryError('VALIDATION_FAILED', `until (version ${until.versionNumber}) is older than since (version ${since.versionNumber})`, { path: ['query', 'until'] });
    }
    const steps = await this.deps.jobs.versions.list(datasetKey, {
      afterVersion: since.versionNumber,
      throughVersion: until.versionNumber,
      order: 'asc',
      limit: until.versionNumber - since.versionNumber,
    });
    if (steps.length !== until.versionNumber - since.versionNumber || steps.some((v) => v.prunedAt)) throw gone(since);
    // Up to date: the empty answer takes its columns from `since`'s delta, so that one must be kept.
    if (steps.length === 0 && since.prunedAt) throw gone(since);

    const scratch = await Scratch.create(this.deps.tmpDir ?? tmpdir());
    try {
      const out = scratch.path('changes.parquet');
      let rows = 0;
      if (steps.length === 0) {
        // Up to date: no change, but still a file with the delta's columns.
        await this.deps.snapshots.empty(await scratch.download(this.deps.store, since.deltaKey, 'like.parquet'), out);
      } else {
        const files: string[] = [];
        for (const v of steps) files.push(await scratch.download(this.deps.store, v.deltaKey, `delta-${v.versionNumber}.parquet`));
        rows = (await this.deps.snapshots.coalesce(files, dataset.primaryKey, out)).rows;
      }
      const name = `${datasetKey}-changes-v${since.versionNumber}-v${until.versionNumber}`;
      const response = await this.#render(out, q.format, q.compression, name, scratch);
      return {
        headers: {
          ...response.headers,
          'ferry-cursor': until.cursor,
          'ferry-version': String(until.versionNumber),
          'ferry-since-version': String(since.versionNumber),
          'ferry-row-count': String(rows),
        },
        body: response.body,
      };
    } catch (err) {
      await scratch.remove();
      throw err;
    }
  }

  /** `GET /sync/:dataset/snapshot?cursor=&format=&compression=`: a version's full snapshot, default the latest. */
  async snapshot(datasetKey: string, query: unknown): Promise<SyncResponse> {
    versionedDataset(this.deps.catalog, datasetKey);
    const q = parseOrThrow(SnapshotQuery, query, { basePath: ['query'] });
    this.#checkOutput(q.format, q.compression);
    const version = await this.#version(datasetKey, q.cursor ? { cursor: q.cursor } : { latest: true }, ['query', 'cursor']);
    const name = `${datasetKey}-snapshot-v${version.versionNumber}`;
    const headers = { 'ferry-cursor': version.cursor, 'ferry-version': String(version.versionNumber), 'ferry-row-count': String(version.rowCount) };
    if (q.format === 'parquet') {
      // Stored as Parquet already: stream it straight from the store.
      const object = await this.deps.store.get(version.snapshotKey).catch((err: unknown) => {
        throw err instanceof FerryError && err.code === 'NOT_FOUND' ? gone(version) : err;
      });
      return {
        headers: { ...headers, 'content-type': PARQUET, 'content-length': String(object.size), 'content-disposition': contentDisposition(`${name}.parquet`) },
        body: object.body,
      };
    }
    const scratch = await Scratch.create(this.deps.tmpDir ?? tmpdir());
    try {
      const file = await scratch.download(this.deps.store, version.snapshotKey, 'snapshot.parquet');
      const response = await this.#render(file, q.format, q.compression, name, scratch);
      return { headers: { ...response.headers, ...headers }, body: response.body };
    } catch (err) {
      await scratch.remove();
      throw err;
    }
  }

  #view(v: DatasetVersion) {
    return { ...versionFields(v, this.deps.publicUrl()), pruned_at: v.prunedAt?.toISOString() ?? null };
  }

  /** A version whose files are needed: a pruned one is GONE. */
  async #version(datasetKey: string, lookup: { cursor: string } | { latest: true }, path: FieldPath): Promise<DatasetVersion> {
    const v = await this.#find(datasetKey, lookup, path);
    if (v.prunedAt) throw gone(v);
    return v;
  }

  /** A version, pruned or not; NOT_FOUND for a cursor never issued. */
  async #find(datasetKey: string, lookup: { cursor: string } | { latest: true }, path: FieldPath): Promise<DatasetVersion> {
    const v = await this.deps.jobs.versions.find(datasetKey, lookup);
    if (!v) {
      throw 'cursor' in lookup
        ? new FerryError('NOT_FOUND', `cursor "${lookup.cursor}" was never issued for dataset "${datasetKey}"`, { path })
        : new FerryError('NOT_FOUND', `dataset "${datasetKey}" has no published version yet`);
    }
    return v;
  }

  #checkOutput(format: string, compression: Compression): void {
    chooseOutput(this.deps.formats, format, compression, { format: ['query', 'format'], compression: ['query', 'compression'] });
  }

  /** A Parquet file as the requested format; the scratch dir is removed when the body ends (or is abandoned). */
  async #render(file: string, format: string, compression: Compression, name: string, scratch: Scratch): Promise<SyncResponse> {
    const writer = this.deps.formats.get(format)!;
    const abort = new AbortController();
    let bytes: AsyncIterable<Uint8Array>;
    // Snapshots and deltas are stored as Parquet: a Parquet writer's answer is the stored file itself.
    if (writer.mediaType === PARQUET) {
      bytes = fileBody(file);
    } else {
      const rows = await this.deps.snapshots.read(file, { signal: abort.signal });
      bytes = compress(writer.write(rows.schema, rows.batches, { signal: abort.signal }), compression, { level: GZIP_LEVEL, signal: abort.signal });
    }
    const packed = compression === 'none' ? null : COMPRESSION_MEDIA[compression];
    const fileName = `${name}.${writer.extension}${packed ? `.${packed.extension}` : ''}`;
    async function* body(): AsyncIterable<Uint8Array> {
      try {
        yield* bytes;
      } finally {
        abort.abort(new FerryError('ABORTED', 'response ended'));
        await scratch.remove();
      }
    }
    return {
      headers: { 'content-type': packed?.mediaType ?? writer.mediaType, 'content-disposition': contentDisposition(fileName), 'cache-control': 'private, no-store' },
      body: body(),
    };
  }
}

function gone(v: DatasetVersion): FerryError {
  return new FerryError(
    'GONE',
    `version ${v.versionNumber} of "${v.datasetKey}" is past retention and its changes were pruned; re-seed from a snapshot (GET /sync/${v.datasetKey}/snapshot) and continue from its Ferry-Cursor`,
  );
}
