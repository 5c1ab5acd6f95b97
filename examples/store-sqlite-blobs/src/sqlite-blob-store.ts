import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FerryError, assertSafeKey, measure, type ByteRange, type ObjectRef, type ObjectStore, type StoreCapabilities, type StoredObject } from '@ferry/core';

const PLUGIN = 'store:sqlite-blobs';

/** Declared once: the plugin definition and the store report the same. */
export const SQLITE_BLOB_CAPABILITIES: StoreCapabilities = { signedUrls: false, rangeReads: true, multipart: false };

export interface SqliteBlobStoreOptions {
  /** The database file. */
  path: string;
  /** Bytes per stored chunk: the most one put or get holds in memory at once. */
  chunkBytes: number;
}

/**
 * Objects as fixed-size chunks in one SQLite file: handy where one file is easier to back up than a
 * folder tree. A put writes its chunks under a fresh object id, then points the key at them in one
 * transaction, so readers see the old object or the new one, never half of one. A put that fails
 * removes its chunks; one that died with its process leaves an `uploads` row that the next open sweeps.
 */
export class SqliteBlobStore implements ObjectStore {
  readonly name = 'sqlite-blobs';
  readonly capabilities = SQLITE_BLOB_CAPABILITIES;
  readonly #db: Database.Database;
  readonly #chunkBytes: number;

  constructor(options: SqliteBlobStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, object_id TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL, chunk_bytes INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS chunks (object_id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (object_id, seq));
      CREATE TABLE IF NOT EXISTS uploads (object_id TEXT PRIMARY KEY);
    `);
    this.#chunkBytes = options.chunkBytes;
    // This store is for one process: any upload still listed at open belongs to a put that died.
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM chunks WHERE object_id IN (SELECT object_id FROM uploads)').run();
      this.#db.prepare('DELETE FROM uploads').run();
    })();
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    assertSafeKey(key, PLUGIN);
    const objectId = randomUUID();
    const insert = this.#db.prepare('INSERT INTO chunks (object_id, seq, data) VALUES (?, ?, ?)');
    this.#db.prepare('INSERT INTO uploads (object_id) VALUES (?)').run(objectId);
    const measured = measure(body, opts.signal);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    // Whole chunks go to the database as soon as they fill; `final` writes the short last one.
    const flush = (final: boolean): void => {
      let joined = Buffer.concat(pending, pendingBytes);
      while (joined.byteLength >= this.#chunkBytes || (final && joined.byteLength > 0)) {
        const n = Math.min(this.#chunkBytes, joined.byteLength);
        insert.run(objectId, seq++, joined.subarray(0, n));
        joined = joined.subarray(n);
      }
      pending = joined.byteLength > 0 ? [joined] : [];
      pendingBytes = joined.byteLength;
    };
    try {
      for await (const chunk of measured.body) {
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= this.#chunkBytes) flush(false);
      }
      flush(true);
      const size = measured.result.size;
      this.#db.transaction(() => {
        const old = this.#db.prepare('SELECT object_id FROM objects WHERE key = ?').get(key) as { object_id: string } | undefined;
        this.#db
          .prepare('INSERT INTO objects (key, object_id, content_type, size, chunk_bytes) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET object_id = excluded.object_id, content_type = excluded.content_type, size = excluded.size, chunk_bytes = excluded.chunk_bytes')
          .run(key, objectId, opts.contentType, size, this.#chunkBytes);
        if (old) this.#db.prepare('DELETE FROM chunks WHERE object_id = ?').run(old.object_id);
        this.#db.prepare('DELETE FROM uploads WHERE object_id = ?').run(objectId);
      })();
      return { key, size, contentType: opts.contentType, sha256: measured.result.sha256() };
    } catch (err) {
      this.#db.transaction(() => {
        this.#db.prepare('DELETE FROM chunks WHERE object_id = ?').run(objectId);
        this.#db.prepare('DELETE FROM uploads WHERE object_id = ?').run(objectId);
      })();
      throw err;
    }
  }

  async get(key: string, opts: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<StoredObject> {
    assertSafeKey(key, PLUGIN);
    const row = this.#db.prepare('SELECT object_id, content_type, size, chunk_bytes FROM objects WHERE key = ?').get(key) as
      | { object_id: string; content_type: string; size: number; chunk_bytes: number }
      | undefined;
    if (!row) throw new FerryError('NOT_FOUND', `no object at "${key}"`, { plugin: PLUGIN });
    const start = opts.range?.start ?? 0;
    const end = Math.min(opts.range?.end ?? row.size - 1, row.size - 1);
    const size = Math.max(0, end - start + 1);
    return { body: this.#chunks(row.object_id, row.chunk_bytes, start, end, opts.signal), size, contentType: row.content_type };
  }

  /** Bytes `start..end` (inclusive), one stored chunk at a time. */
  async *#chunks(objectId: string, chunkBytes: number, start: number, end: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const read = this.#db.prepare('SELECT data FROM chunks WHERE object_id = ? AND seq = ?');
    for (let seq = Math.floor(start / chunkBytes); seq * chunkBytes <= end; seq++) {
      signal?.throwIfAborted();
      const row = read.get(objectId, seq) as { data: Buffer } | undefined;
      // The key was pointed at other chunks (overwritten or deleted) while this reader streamed.
      if (!row) throw new FerryError('CONFLICT', 'the object changed while it was being read', { plugin: PLUGIN });
      const from = Math.max(0, start - seq * chunkBytes);
      const to = Math.min(row.data.byteLength, end - seq * chunkBytes + 1);
      yield row.data.subarray(from, to);
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key, PLUGIN);
    this.#db.transaction(() => {
      const old = this.#db.prepare('SELECT object_id FROM objects WHERE key = ?').get(key) as { object_id: string } | undefined;
      if (!old) return;
      this.#db.prepare('DELETE FROM objects WHERE key = ?').run(key);
      this.#db.prepare('DELETE FROM chunks WHERE object_id = ?').run(old.object_id);
    })();
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
