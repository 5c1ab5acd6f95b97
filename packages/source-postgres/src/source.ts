import pg from 'pg';
import type { RecordBatch } from 'apache-arrow';
import type Cursor from 'pg-cursor';
import { FerryError, pushdownFormats, type Logger, type NativeExport, type NativeFormat, type PluginContext, type QuerySource, type ResolvedQuery, type RowStream } from '@ferry/core';
import { compileQuery } from '@ferry/query-sql';
import { BatchPlan, type Row } from './columns.js';
import { clientConfig, secretsOf } from './connection.js';
import { readRows, textCursor } from './cursor.js';
import { exportCopy, NATIVE_FORMATS } from './native.js';
import type { PostgresSourceOptions } from './options.js';
import { openBinary } from './binary-read.js';
import { abortError, PLUGIN, queryFailed, Session, type SessionDeps } from './session.js';

/** What a connection's backend is, looked up once per physical connection. */
interface Backend {
  /** For pg_cancel_backend. */
  pid: number;
  /** SQL_ASCII passes bytes through unchecked: only the text path (decoding as UTF-8) is safe there. */
  binarySafe: boolean;
}

/**
 * A QuerySource over a PostgreSQL pool. Each `open` checks out one connection and reads the
 * result as Arrow batches of `batchRows` rows: by default through binary COPY decoded straight
 * into columns (binary-read.ts), else through a server-side text cursor, one round trip per
 * batch. Either way memory is bounded by a batch or two whatever the result size.
 */
export class PostgresSource implements QuerySource {
  readonly name = 'postgres';
  readonly dialect = 'postgres';
  readonly #pool: pg.Pool;
  readonly #deps: SessionDeps;
  readonly #batchRows: number;
  readonly #readMode: PostgresSourceOptions['readMode'];
  readonly #pushdown: ReadonlySet<NativeFormat>;
  readonly #backends = new WeakMap<pg.PoolClient, Backend>();
  #active = 0;
  #closed = false;

  constructor(options: PostgresSourceOptions, logger: Logger) {
    const config = clientConfig(options);
    const secrets = secretsOf(options);
    this.#deps = { config, secrets, logger };
    this.#batchRows = options.batchRows;
    this.#readMode = options.readMode;
    this.#pushdown = pushdownFormats(options.pushdown, NATIVE_FORMATS);
    this.#pool = new pg.Pool({ ...config, max: options.poolSize });
    // An idle connection can die (server restart); without a listener that would crash the process.
    this.#pool.on('error', (err) => logger.warn({ err: queryFailed(err, secrets).message }, 'postgres: idle connection failed'));
  }

  static create(options: PostgresSourceOptions, ctx: Pick<PluginContext, 'logger'>): PostgresSource {
    return new PostgresSource(options, ctx.logger);
  }

  /** Connections currently checked out by a stream or an export (for tests and health checks). */
  get activeStreams(): number {
    return this.#active;
  }

  async #checkout(signal: AbortSignal): Promise<Session> {
    if (this.#closed) throw new FerryError('INTERNAL', 'the PostgreSQL source is closed', { plugin: PLUGIN });
    if (signal.aborted) throw abortError(signal);
    let client: pg.PoolClient;
    let backend: Backend;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw queryFailed(err, this.#deps.secrets);
    }
    try {
      backend = this.#backends.get(client) ?? (await lookUpBackend(client));
      this.#backends.set(client, backend);
    } catch (err) {
      client.release(true);
      throw queryFailed(err, this.#deps.secrets);
    }
    if (signal.aborted) {
      client.release();
      throw abortError(signal);
    }
    this.#active++;
    return new Session(client, backend.pid, signal, this.#deps, () => this.#active--);
  }

  async open(query: ResolvedQuery, opts: { signal: AbortSignal; batchRows?: number }): Promise<RowStream> {
    const batchRows = opts.batchRows ?? this.#batchRows;
    if (!Number.isSafeInteger(batchRows) || batchRows < 1) throw new FerryError('INTERNAL', `invalid batchRows ${batchRows}`, { plugin: PLUGIN });
    const { sql, params } = compileQuery(query, 'postgres');
    const session = await this.#checkout(opts.signal);
    try {
      if (this.#readMode === 'binary' && this.#backends.get(session.client)?.binarySafe) {
        const stream = await openBinary(session, query, batchRows, this.#deps.logger);
        if (stream) return stream;
      }
      const cursor = session.client.query(textCursor(sql, params));
      // The first read runs the query; its row description gives the schema even for zero rows.
      const first = await session.run(() => readRows(cursor, batchRows));
      const plan = new BatchPlan(first.fields);
      return { schema: plan.schema, batches: batches(session, cursor, plan, first.rows, batchRows) };
    } catch (err) {
      session.release(true);
      throw err;
    }
  }

  async exportNative(query: ResolvedQuery, format: NativeFormat, opts: { signal: AbortSignal }): Promise<NativeExport | null> {
    if (!this.#pushdown.has(format)) return null;
    const session = await this.#checkout(opts.signal);
    try {
      const result = await exportCopy(session, query, format);
      if (!result) session.release(false);
      return result;
    } catch (err) {
      session.release(true);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

async function lookUpBackend(client: pg.PoolClient): Promise<Backend> {
  const { rows } = await client.query<{ pid: string; encoding: string }>(`SELECT pg_backend_pid() AS pid, current_setting('server_encoding') AS encoding`);
  return { pid: Number(rows[0]!.pid), binarySafe: rows[0]!.encoding !== 'SQL_ASCII' };
}

/**
 * Text cursor batches after the first. A short read means the portal is exhausted; the connection then goes
 * back to the pool. Leaving early (break, abort, error) destroys it instead (see Session).
 */
async function* batches(session: Session, cursor: Cursor<Row>, plan: BatchPlan, first: Row[], batchRows: number): AsyncGenerator<RecordBatch> {
  let exhausted = false;
  try {
    let rows = first;
    for (;;) {
      if (rows.length > 0) yield plan.toBatch(rows);
      if (rows.length < batchRows) break;
      session.checkpoint();
      rows = (await session.run(() => readRows(cursor, batchRows))).rows;
    }
    await session.run(() => cursor.close());
    exhausted = true;
  } finally {
    session.release(!exhausted);
  }
}
