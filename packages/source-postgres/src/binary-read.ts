import type { RecordBatch } from 'apache-arrow';
import { to as copyTo } from 'pg-copy-streams';
import type { Logger, ResolvedQuery, RowStream } from '@ferry/core';
import { binaryColumns } from './binary-columns.js';
import { BinaryDecoder } from './binary-decoder.js';
import { beginCopy, commitCopy, rollbackCopy } from './copy-transaction.js';
import type { Session } from './session.js';

/** The decoder writes 64-bit values as two host-order 32-bit halves; big-endian hosts read text. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Read a query through `COPY (...) TO STDOUT (FORMAT binary)`, decoded into Arrow batches of
 * `batchRows` rows with the text path's schema and values. The query's values are transaction
 * settings (see copy-transaction.ts); the describe step gives the schema even for zero rows.
 *
 * Returns null, with the transaction rolled back and nothing read, when a result column has a
 * type the decoder does not know: the caller reads that query as text on the same connection.
 * As with the text cursor, the first batch is read here, so the query has started (and its
 * errors surfaced) when this resolves.
 */
export async function openBinary(session: Session, query: ResolvedQuery, batchRows: number, logger: Logger): Promise<RowStream | null> {
  if (!LITTLE_ENDIAN) return null;
  const { sql, fields } = await beginCopy(session, query);
  const plan = binaryColumns(fields);
  if ('unsupported' in plan) {
    const { name, dataTypeID } = plan.unsupported;
    logger.debug({ column: name, typeOid: dataTypeID }, 'postgres: reading this query as text, binary COPY does not decode the column type');
    await rollbackCopy(session);
    return null;
  }
  const decoder = new BinaryDecoder(plan.columns, batchRows);
  const reader = new CopyReader(session, `COPY (\n${sql}\n) TO STDOUT (FORMAT binary)`, decoder);
  const first = await reader.read();
  return { schema: decoder.schema, batches: batches(session, reader, first) };
}

/**
 * Pulls COPY chunks only while the decoder needs bytes for the next batch. pg-copy-streams stops
 * reading the socket when its buffer is full, so an unread batch holds the server back (TCP
 * backpressure) and memory stays at about one chunk plus the batches in hand.
 */
class CopyReader {
  readonly #session: Session;
  readonly #decoder: BinaryDecoder;
  readonly #chunks: AsyncIterator<Uint8Array>;
  #ended = false;

  constructor(session: Session, sql: string, decoder: BinaryDecoder) {
    this.#session = session;
    this.#decoder = decoder;
    session.checkpoint();
    this.#chunks = (session.client.query(copyTo(sql)) as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  }

  /** The next batch, or null at the end of the result. */
  async read(): Promise<RecordBatch | null> {
    for (;;) {
      const batch = this.#decoder.take();
      if (batch) return batch;
      if (this.#ended) return null;
      const next = await this.#session.run(() => this.#chunks.next());
      if (next.done) {
        this.#decoder.end();
        this.#ended = true;
      } else {
        this.#decoder.push(next.value);
      }
    }
  }
}

/**
 * The batches, the first already read. Read to the end, the transaction commits and the connection
 * goes back to the pool; leaving early (break, abort, error) destroys it instead (see Session).
 */
async function* batches(session: Session, reader: CopyReader, first: RecordBatch | null): AsyncGenerator<RecordBatch> {
  let finished = false;
  try {
    for (let batch = first; batch; batch = await reader.read()) {
      yield batch;
      session.checkpoint();
    }
    await commitCopy(session);
    finished = true;
  } finally {
    session.release(!finished);
  }
}
