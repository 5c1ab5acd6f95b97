/**
 * Parallel gzip vs one zlib stream on ~200 MB of CSV-like text (no I/O):
 *   npx tsx packages/engine/bench/parallel-gzip.ts [MB]
 * A measurement, not a test. Prints MB/s of input and the output ratio.
 */
import { availableParallelism } from 'node:os';
import { gzip } from '../src/compression.js';
import { parallelGzip } from '../src/parallel-gzip.js';

const mb = Number(process.argv[2] ?? 200);
const lines: string[] = [];
let size = 0;
for (let row = 0; size < mb * 1e6; row++) {
  const line = `${row},${10_000_000_000 + row * 7919},${((row % 1000) / 7).toFixed(4)},customer ${row % 5000},"New York, NY",${row % 100000}.${String(row % 10000).padStart(4, '0')},2024-0${(row % 9) + 1}-1${row % 10},2023-11-14T22:13:${String(row % 60).padStart(2, '0')}.${row % 1000}Z,${row % 3 === 0},${(row * 37) % 1000}\n`;
  lines.push(line);
  size += line.length;
}
const data = Buffer.from(lines.join(''), 'latin1');
lines.length = 0;

async function* chunks(): AsyncGenerator<Uint8Array> {
  // Encoder-sized chunks (one CSV batch is a few MB).
  for (let p = 0; p < data.length; p += 4 << 20) yield data.subarray(p, p + (4 << 20));
}

async function measure(name: string, run: () => AsyncIterable<Uint8Array>): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let out = 0;
  for await (const part of run()) out += part.byteLength;
  const sec = (performance.now() - t0) / 1000;
  // Process CPU time includes libuv's pool threads: CPU/wall near the core count means parallel work.
  const cpu = process.cpuUsage(c0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  console.log(`${name.padEnd(34)} ${(data.length / sec / 1e6).toFixed(0).padStart(5)} MB/s  ${sec.toFixed(2)} s  CPU/wall ${(cpuSec / sec).toFixed(2)}  ${(data.length / cpuSec / 1e6).toFixed(0)} MB/s per CPU-s  ratio ${(out / data.length).toFixed(4)}  rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
}

console.log(`${(data.length / 1e6).toFixed(0)} MB of CSV-like text, ${availableParallelism()} cores`);
for (const level of [6, 1]) {
  await measure(`zlib stream level ${level}`, () => gzip(chunks(), level));
  await measure(`parallelGzip level ${level} (1 MiB blocks)`, () => parallelGzip(chunks(), { level }));
  await measure(`parallelGzip level ${level} (4 MiB blocks)`, () => parallelGzip(chunks(), { level, blockBytes: 4 << 20 }));
}
