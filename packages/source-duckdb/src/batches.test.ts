import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection, type DuckDBDataChunk } from '@duckdb/node-api';
import { planResult, toRecordBatches } from './batches.js';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

/** A real streaming result of `rows` integers, its fetches counted as they start and settle. */
async function countedScan(rows: number) {
  const result = await connection.stream(`SELECT range AS x FROM range(${rows})`);
  const calls = { started: 0, settled: 0 };
  const fetch = async (): Promise<DuckDBDataChunk | null> => {
    calls.started++;
    try {
      return await result.fetchChunk();
    } finally {
      calls.settled++;
    }
  };
  return { plan: planResult(result), fetch, calls };
}

describe('DuckDB chunks to Arrow batches', () => {
  it('fetches the next chunk while the consumer has the current batch', async () => {
    const { plan, fetch, calls } = await countedScan(3 * 2048);
    const batches = toRecordBatches(plan, fetch, 2048, () => undefined);
    const first = await batches.next();
    expect(first.value?.numRows).toBe(2048);
    // DuckDB works on the second chunk on its own thread while this batch is encoded.
    expect(calls.started).toBe(2);
    let rows = first.value!.numRows;
    let sum = 0;
    for (const v of first.value!.getChild('x')!) sum += Number(v);
    for await (const batch of { [Symbol.asyncIterator]: () => batches }) {
      rows += batch.numRows;
      for (const v of batch.getChild('x')!) sum += Number(v);
    }
    expect([rows, sum]).toEqual([3 * 2048, (3 * 2048 * (3 * 2048 - 1)) / 2]);
  });

  it('leaves no fetch running once a consumer that stopped early has let go', async () => {
    const { plan, fetch, calls } = await countedScan(10 * 2048);
    const batches = toRecordBatches(plan, fetch, 2048, () => undefined);
    await batches.next();
    expect(calls.started).toBeGreaterThan(calls.settled);
    await batches.return(undefined);
    // The caller releases the connection next: no fetch of it may still be running.
    expect(calls.settled).toBe(calls.started);
  });
});
