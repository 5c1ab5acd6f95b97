import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableFromArrays, type RecordBatch } from 'apache-arrow';
import { BatchSpool } from './batch-spool.js';
import { PartCutter, nextBudget } from './split.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-split-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Batches of consecutive ids, `sizes` rows each. */
async function* batches(sizes: number[]): AsyncIterable<RecordBatch> {
  let next = 0;
  for (const n of sizes) {
    const ids = Int32Array.from({ length: n }, () => next++);
    yield tableFromArrays({ id: ids, label: Array.from(ids, (i) => `row ${i}`) }).batches[0]!;
  }
}

async function ids(part: AsyncIterable<RecordBatch>): Promise<number[]> {
  const out: number[] = [];
  for await (const b of part) out.push(...Array.from(b.getChild('id')!.toArray() as Int32Array));
  return out;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('PartCutter', () => {
  it('cuts parts of exactly the budget, slicing batches, with no empty trailing part', async () => {
    const cutter = new PartCutter(batches([4, 0, 7, 3]));
    expect(await ids(cutter.part(5))).toEqual(range(0, 5));
    expect(await ids(cutter.part(5))).toEqual(range(5, 10));
    expect(await cutter.hasMore()).toBe(true);
    expect(await ids(cutter.part(5))).toEqual(range(10, 14));
    expect(await cutter.hasMore()).toBe(false);
  });

  it('serves a rewound part again from the spool, and what a smaller retry leaves goes to the next part', async () => {
    const spools = [await BatchSpool.create(join(dir, 'rewind.a.spool')), await BatchSpool.create(join(dir, 'rewind.b.spool'))] as const;
    const cutter = new PartCutter(batches([3, 3, 3, 3, 3]), spools);
    expect(await ids(cutter.part(8))).toEqual(range(0, 8));
    cutter.rewind();
    expect(await ids(cutter.part(5))).toEqual(range(0, 5));
    cutter.rewind();
    expect(await ids(cutter.part(4))).toEqual(range(0, 4));
    await cutter.commit();
    // A consumer that stops early (a part stopped at the byte limit) still gets every row again.
    for await (const b of cutter.part(100)) {
      expect(b.numRows).toBeGreaterThan(0);
      break;
    }
    cutter.rewind();
    expect(await ids(cutter.part(6))).toEqual(range(4, 10));
    await cutter.commit();
    expect(await ids(cutter.part(100))).toEqual(range(10, 15));
    await cutter.commit();
    expect(await cutter.hasMore()).toBe(false);
    // Nothing is left to read again: the spools gave their space back.
    for (const spool of spools) {
      expect((await stat(spool.path)).size).toBe(0);
      await spool.close();
    }
  });

  it('keeps on disk about one part of rows, not the whole export', async () => {
    const spools = [await BatchSpool.create(join(dir, 'bounded.a.spool')), await BatchSpool.create(join(dir, 'bounded.b.spool'))] as const;
    // 100 batches of 1,000 rows, in parts of 2,300: parts end inside a batch (aligned only every 23,000 rows).
    const cutter = new PartCutter(batches(Array.from({ length: 100 }, () => 1000)), spools);
    const one = await BatchSpool.create(join(dir, 'one-batch.spool'));
    for await (const b of batches([1000])) await one.append(b);
    const batchBytes = (await stat(one.path)).size;
    await one.close();
    let largest = 0;
    let next = 0;
    while (await cutter.hasMore()) {
      expect(await ids(cutter.part(2300))).toEqual(range(next, Math.min(next + 2300, 100_000)));
      next = Math.min(next + 2300, 100_000);
      largest = Math.max(largest, (await stat(spools[0].path)).size + (await stat(spools[1].path)).size);
      await cutter.commit();
    }
    expect(next).toBe(100_000);
    expect(largest).toBeLessThanOrEqual(5 * batchBytes);
    for (const spool of spools) await spool.close();
  });
});

describe('nextBudget', () => {
  it('after a part that was too large, offers fewer rows, scaled to the limit', () => {
    expect(nextBudget({ rows: 1000, bytes: 2000, fits: false }, 1000, Infinity)).toBe(450);
    // Just over: still at least one row fewer.
    expect(nextBudget({ rows: 10, bytes: 1001, fits: false }, 1000, Infinity)).toBe(8);
    expect(nextBudget({ rows: 2, bytes: 1001, fits: false }, 1000, Infinity)).toBe(1);
  });

  it('after a part that fit, aims a little under the limit, within maxFileRows', () => {
    expect(nextBudget({ rows: 1000, bytes: 500, fits: true }, 1000, Infinity)).toBe(1900);
    expect(nextBudget({ rows: 1000, bytes: 500, fits: true }, 1000, 1200)).toBe(1200);
  });
});
