/**
 * Encoding speed of the generic Arrow -> CSV path (no compression, no I/O):
 *   npx tsx packages/format-csv/bench/encode.ts [rows]
 * Prints rows/s and MB/s; a measurement, not a test.
 */
import { mixedBatches } from '@ferry/testing';
import { CsvBatchEncoder, csvOptionsSchema } from '../src/index.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const batches = mixedBatches(rows);
const encoder = new CsvBatchEncoder(batches[0]!.schema, csvOptionsSchema.parse({}));
for (let run = 1; run <= 3; run++) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (const batch of batches) bytes += encoder.encode(batch).length;
  const sec = (performance.now() - t0) / 1000;
  // CPU time as well: on a shared machine wall time mostly measures the neighbours.
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  console.log(`csv run ${run}: ${rows} rows x 10 cols in ${sec.toFixed(3)} s = ${(rows / sec / 1e6).toFixed(2)} M rows/s, ${(bytes / sec / 1e6).toFixed(0)} MB/s; CPU ${cpuSec.toFixed(3)} s = ${(rows / cpuSec / 1e6).toFixed(2)} M rows/s per core`);
}
