import { isAbsolute, resolve } from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBDataChunk } from '@duckdb/node-api';
import { FerryError, type NativeExport, type NativeFormat, type PluginContext, type QuerySource, type ResolvedQuery, type RowStream } from '@ferry/core';
import { compileQuery } from '@ferry/query-sql';
import { planResult, toRecordBatches } from './batches.js';
import { FifoPool, type Fifo } from './fifo.js';
import { NATIVE_FORMATS, planCopy } from './native.js';
import type { DuckDBSourceOptions } from './options.js';
import { OwnedScratch, pushdownFormats } from '@ferry/core';
import { queryFailed } from './errors.js';

const PLUGIN = 'source:duckdb';

/** The abort reason as the error to throw: the engine aborts with a FerryError ABORTED already. */
function aborted(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new FerryError('ABORTED', 'the query was aborted', { plugin: PLUGIN, cause: reason });
}

/**
 * A QuerySource over one embedded DuckDB database. Each `open` gets its own connection, so
 * exports run concurrently; the connection lives exactly as long as its stream.
 */
export class DuckDBSource implements QuerySource {
  readonly name = 'duckdb';
  readonly dialect = 'duckdb';
  readonly #instance: DuckDBInstance;
  readonly #defaultBatchRows: number;
  /**
   * Connections in use, each with what stops its statement at once (and cuts a pushdown's pipe),
   * settling once the statement has let go.
   */
  readonly #connections = new Map<DuckDBConnection, () => Promise<void>>();
  readonly #scratch: OwnedScratch;
  readonly #fifos: FifoPool;
  #closed = false;

  /** The formats DuckDB may write itself. */
  readonly #pushdown: ReadonlySet<string>;

  private constructor(instance: DuckDBInstance, scratch: OwnedScratch, fifos: FifoPool, defaultBatchRows: number, pushdown: ReadonlySet<string>) {
    this.#instance = instance;
    this.#scratch = scratch;
    this.#fifos = fifos;
    this.#defaultBatchRows = defaultBatchRows;
    this.#pushdown = pushdown;
  }

  /**
   * Spill files and pushdown pipes go to a directory of this instance's own under
   * `<dataDir>/duckdb-tmp`: two DuckDB instances spilling into one directory corrupt each other's
   * files (they use the same names), and what a killed process left there is swept at the next
   * start (see OwnedScratch).
   */
  static async create(options: DuckDBSourceOptions, ctx: Pick<PluginContext, 'dataDir'>): Promise<DuckDBSource> {
    const path = options.path === ':memory:' || isAbsolute(options.path) ? options.path : resolve(ctx.dataDir, options.path);
    const scratch = await OwnedScratch.create(resolve(ctx.dataDir, 'duckdb-tmp'), {
      prefix: 'source-',
      // Spill files of releases that spilled into duckdb-tmp itself.
      legacy: (name) => name.startsWith('duckdb_temp_'),
    });
    // No TimeZone setting: it needs the ICU extension, which this build does not bundle (and
    // autoloading would reach for the network). Without ICU, DuckDB does TIMESTAMPTZ in UTC,
    // which is what Ferry wants anyway.
    const config: Record<string, string> = {};
    if (options.threads !== undefined) config['threads'] = String(options.threads);
    config['memory_limit'] = options.memoryLimit;
    config['temp_directory'] = scratch.path;
    // DuckDB's cache of the files it reads, kept in its buffer pool: for local Parquet a second copy
    // of what the OS page cache holds. Off, a 25M-row Parquet export peaked at 320-323 MB
    // instead of 336, in the same time (docs/benchmarks.md).
    config['enable_external_file_cache'] = 'false';
    if (options.readOnly) config['access_mode'] = 'READ_ONLY';
    try {
      const pushdown = pushdownFormats(options.pushdown, NATIVE_FORMATS);
      // The first pushdown's pipe is made while DuckDB starts, not while its export waits.
      const fifos = new FifoPool(scratch.path);
      const [instance] = await Promise.all([DuckDBInstance.create(path, config), pushdown.size > 0 ? fifos.prepare() : undefined]);
      return new DuckDBSource(instance, scratch, fifos, options.batchRows, pushdown);
    } catch (err) {
      await scratch.close();
      throw new FerryError('INVALID_CONFIG', `cannot open DuckDB database: ${err instanceof Error ? err.message : String(err)}`, {
        plugin: PLUGIN,
        cause: err,
      });
    }
  }

  /** This instance's scratch directory (spill files, pushdown pipes). */
  get scratchDir(): string {
    return this.#scratch.path;
  }

  async open(query: ResolvedQuery, opts: { signal: AbortSignal; batchRows?: number }): Promise<RowStream> {
    const { signal } = opts;
    if (this.#closed) throw new FerryError('INTERNAL', 'the DuckDB source is closed', { plugin: PLUGIN });
    if (signal.aborted) throw aborted(signal);
    const batchRows = opts.batchRows ?? this.#defaultBatchRows;
    if (!Number.isSafeInteger(batchRows) || batchRows < 1) throw new FerryError('INTERNAL', `invalid batchRows ${batchRows}`, { plugin: PLUGIN });
    const { sql, params } = compileQuery(query, 'duckdb');

    const connection = await this.#instance.connect();
    this.#connections.set(connection, async () => connection.interrupt());
    // interrupt() cancels a running stream()/fetchChunk() on this connection; it then rejects.
    const onAbort = (): void => connection.interrupt();
    signal.addEventListener('abort', onAbort, { once: true });
    const release = async (): Promise<void> => {
      signal.removeEventListener('abort', onAbort);
      if (!this.#connections.delete(connection)) return;
      await endQuery(connection);
      connection.closeSync();
    };

    try {
      await orderAsAsked(connection, query);
      const result = await connection.stream(sql, params);
      if (signal.aborted) throw aborted(signal);
      const plan = planResult(result);
      const checkpoint = (): void => {
        if (signal.aborted) throw aborted(signal);
      };
      const fetch = async (): Promise<DuckDBDataChunk | null> => {
        try {
          return await result.fetchChunk();
        } catch (err) {
          throw signal.aborted ? aborted(signal) : queryFailed(err);
        }
      };
      return { schema: plan.schema, batches: releasing(toRecordBatches(plan, fetch, batchRows, checkpoint), release) };
    } catch (err) {
      await release();
      throw signal.aborted ? aborted(signal) : queryFailed(err);
    }
  }

  /**
   * Pushdown (see native.ts): DuckDB writes the file with its parallel COPY into a named pipe in the
   * source's scratch directory, read as it is written (see fifo.ts). Null for a format not enabled,
   * when a column type cannot read back as the Arrow path's, or where no named pipe can be made.
   * Aborting, closing the source or leaving the body early cuts the pipe and interrupts the COPY,
   * even while the consumer has stopped pulling and DuckDB waits on a full pipe.
   */
  async exportNative(query: ResolvedQuery, format: NativeFormat, opts: { signal: AbortSignal }): Promise<NativeExport | null> {
    const { signal } = opts;
    if (this.#closed) throw new FerryError('INTERNAL', 'the DuckDB source is closed', { plugin: PLUGIN });
    if (signal.aborted) throw aborted(signal);
    if (!this.#pushdown.has(format)) return null;
    const connection = await this.#instance.connect();
    let pipe: Fifo | null = null;
    let copy: Promise<unknown> | undefined;
    const stop = (): void => {
      pipe?.cut();
      connection.interrupt();
    };
    // Stop the COPY (if one runs) and wait for it to let go: on close, and when the body ends early.
    const halt = async (): Promise<void> => {
      stop();
      await copy?.catch(() => undefined);
    };
    this.#connections.set(connection, halt);
    signal.addEventListener('abort', stop, { once: true });
    const release = async (): Promise<void> => {
      signal.removeEventListener('abort', stop);
      pipe?.close();
      if (!this.#connections.delete(connection)) return;
      await endQuery(connection);
      connection.closeSync();
    };
    try {
      const plan = await planCopy(connection, query, format);
      const fifo = plan ? await this.#fifos.take() : null;
      if (!plan || !fifo) {
        await release();
        return null;
      }
      pipe = fifo;
      let settle!: { resolve: (n: number) => void; reject: (err: unknown) => void };
      const rows = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
      rows.catch(() => undefined); // a caller that only reads `body` must not see an unhandled rejection
      const body = async function* (): AsyncGenerator<Uint8Array> {
        let copied = false;
        try {
          await orderAsAsked(connection, query);
          const copying = connection
            .runAndReadAll(plan.sql(fifo.path), plan.params)
            .then(
              (result) => Number(result.getRows()[0]?.[0] ?? 0),
              (err: unknown) => {
                throw signal.aborted ? aborted(signal) : queryFailed(err);
              },
            )
            .finally(() => (copied = true));
          // Observed by the read below; until then (the preamble's yield) it must not count as unhandled.
          copying.catch(() => undefined);
          copy = copying;
          if (plan.preamble.length > 0) yield plan.preamble;
          for await (const chunk of fifo.read(copying)) {
            if (signal.aborted) throw aborted(signal);
            yield chunk;
          }
          settle.resolve(await copying);
        } catch (err) {
          // A cut pipe ends the read with a premature close: the abort is the cause to report.
          const cause = signal.aborted ? aborted(signal) : err;
          settle.reject(cause);
          throw cause;
        } finally {
          settle.reject(new Error('the export was not read to the end'));
          // Left early (or failed while reading): stop the COPY before the connection is released.
          if (copy && !copied) await halt();
          await release();
        }
      };
      return { body: body(), rows };
    } catch (err) {
      await release();
      throw signal.aborted ? aborted(signal) : queryFailed(err);
    }
  }

  /** Streams whose connection is still held (for health checks and tests). */
  get activeStreams(): number {
    return this.#connections.size;
  }

  /** Closes the database; streams still open are cut off (their connections are closed first). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A pushdown's COPY may wait on a full pipe that nobody reads: cut it and let the statement
    // fail first, or closing the connection would wait for that write forever.
    await Promise.all([...this.#connections.values()].map((stop) => stop()));
    for (const connection of this.#connections.keys()) connection.closeSync();
    this.#connections.clear();
    this.#instance.closeSync();
    this.#fifos.close();
    await this.#scratch.close();
  }
}

/**
 * An export asked for in no order (`orderBy: null`) need not keep the scan's: DuckDB then cuts the
 * dataset's row cap without ordering its parallel scan (1.5-2x faster measured for COPY) and does
 * not buffer out-of-order chunks (520 -> 240 MB peak on the Arrow path). The setting lasts as long
 * as the connection, which is one export's alone.
 */
async function orderAsAsked(connection: DuckDBConnection, query: ResolvedQuery): Promise<void> {
  if (query.orderBy.length === 0) await connection.run('SET SESSION preserve_insertion_order = false');
}

/**
 * End whatever query the connection still has open. A streamed result that was not read to the
 * end keeps its spill files (hundreds of MB after a large sort) until the result object is
 * garbage-collected, even after the connection is closed; the next statement on the same
 * connection releases them at once.
 */
async function endQuery(connection: DuckDBConnection): Promise<void> {
  await connection.run('SELECT 1').catch(() => undefined);
}

/** Run `release` once the consumer is done with `source`: exhausted, broken out of, or failed. */
async function* releasing<T>(source: AsyncGenerator<T>, release: () => Promise<void>): AsyncGenerator<T> {
  try {
    yield* source;
  } finally {
    await release();
  }
}
