/**
 * What a team would write by hand: a pg cursor, one CSV line per row object, zlib gzip.
 * Run in its own process by the exports benchmark; prints {seconds, rows, peakRssMb}.
 */
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { PG, PG_TABLE } from './dataset.js';

const [out, level] = [process.argv[2]!, Number(process.argv[3] ?? 1)];
const quote = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const s = v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};
let peak = process.memoryUsage.rss();
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
const t0 = performance.now();
const client = new pg.Client(PG);
await client.connect();
const gzip = createGzip({ level });
const done = new Promise<void>((r) => gzip.pipe(createWriteStream(out)).on('finish', () => r()));
const cursor = client.query(new Cursor(`SELECT * FROM ${PG_TABLE}`));
let rows = 0;
let header = false;
for (;;) {
  const batch = (await cursor.read(10_000)) as Array<Record<string, unknown>>;
  if (batch.length === 0) break;
  if (!header) {
    gzip.write(`${Object.keys(batch[0]!).join(',')}\n`);
    header = true;
  }
  for (const row of batch) {
    if (!gzip.write(`${Object.values(row).map(quote).join(',')}\n`)) await new Promise<void>((r) => gzip.once('drain', () => r()));
  }
  rows += batch.length;
}
gzip.end();
await done;
await cursor.close();
await client.end();
clearInterval(timer);
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t0) / 1000, rows, peakRssMb: peak / 1048576 })}\n`);
