import { TimeUnit, type RecordBatch } from 'apache-arrow';
import { batchOf, boolData, dateDayData, decimalData, float64Data, int32Data, int64Data, timestampData, utf8Data } from './arrow-build.js';

/**
 * Batches of 10 mixed columns for encoder benchmarks (ints, bigints, doubles, strings, a decimal,
 * a date, a timestamp, a boolean), about 5 % NULLs. Built once; the same batches can be re-encoded.
 */
export function mixedBatches(rows: number, batchRows = 65_536): RecordBatch[] {
  const out: RecordBatch[] = [];
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    const idx = Array.from({ length: n }, (_, i) => start + i);
    const nul = (i: number): boolean => i % 20 === 7;
    out.push(
      batchOf([
        ['id', int32Data(idx)],
        ['account', int64Data(idx.map((i) => BigInt(i) * 7919n + 10_000_000_000n))],
        ['price', float64Data(idx.map((i) => (nul(i) ? null : (i % 1000) / 7)))],
        ['name', utf8Data(idx.map((i) => (nul(i) ? null : `customer ${i % 5000}`)))],
        ['city', utf8Data(idx.map((i) => ['Paris', 'Zürich', 'New York, NY', 'Tōkyō'][i % 4]!))],
        ['amount', decimalData(idx.map((i) => (nul(i) ? null : `${i % 100000}.${String(i % 10000).padStart(4, '0')}`)), 18, 4)],
        ['day', dateDayData(idx.map((i) => 18000 + (i % 3000)))],
        ['at', timestampData(idx.map((i) => 1_700_000_000_000_000n + BigInt(i) * 1_000_123n), TimeUnit.MICROSECOND, 'UTC')],
        ['active', boolData(idx.map((i) => (nul(i) ? null : i % 3 === 0)))],
        ['qty', int32Data(idx.map((i) => (i * 37) % 1000))],
      ]),
    );
  }
  return out;
}
