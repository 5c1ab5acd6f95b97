/**
 * Speed and memory of the generic Arrow -> Parquet path (no I/O):
 *   npx tsx packages/format-parquet/bench/encode.ts [rows] [compression]
 * The same 16 batches of 65,536 mixed rows are replayed until `rows`, so the source costs nothing
 * and memory growth would show. Prints rows/s, output size, peak RSS and wasm memory.
 */
import { wasmMemory } from 'parquet-wasm';
import { mixedBatches } from '@ferry/testing';
import { parquetFormat } from '../src/index.js';
import { silentLogger } from '@ferry/core';
import type { RecordBatch } from 'apache-arrow';

const rows = Number(process.argv[2] ?? 5_000_000);
const compression = (process.argv[3] ?? 'zstd') as 'zstd' | 'snappy';
const batches = mixedBatches(16 * 65_536);
let peakRss = 0;
const sample = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
async function* replay(): AsyncGenerator<RecordBatch> {
  for (let done = 0, i = 0; done < rows; i++) {
    const batch = batches[i % batches.length]!;
    const n = Math.min(batch.numRows, rows - done);
    yield n === batch.numRows ? batch : batch.slice(0, n);
    done += n;
    sample();
  }
}
const writer = await parquetFormat.create(parquetFormat.options.parse({ compression }), { logger: silentLogger, dataDir: '' });
sample();
const baseRss = peakRss;
const t0 = performance.now();
const c0 = process.cpuUsage();
let bytes = 0;
for await (const chunk of writer.write(batches[0]!.schema, replay(), { signal: new AbortController().signal })) bytes += chunk.byteLength;
const sec = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
console.log(
  `parquet ${compression}: ${rows} rows x 10 cols in ${sec.toFixed(2)} s = ${(rows / sec / 1e6).toFixed(2)} M rows/s ` +
    `(CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s), ${(bytes / 1e6).toFixed(1)} MB; RSS before ${(baseRss / 1e6).toFixed(0)} MB, peak ${(peakRss / 1e6).toFixed(0)} MB; wasm memory ${(wasmMemory().buffer.byteLength / 1e6).toFixed(0)} MB`,
);
