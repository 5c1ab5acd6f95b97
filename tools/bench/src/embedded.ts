/**
 * The embedded path on the defaults users get: the whole sample dataset (998,400 rows x 19
 * columns, as `ferry serve` exposes it), `orderBy: null`, every option at its default (the DuckDB
 * source's pushdown setting, gzip level 6, the formats' own options), through the real export
 * worker in a fresh process each. Beside each, DuckDB's own COPY of the same SELECT over the same
 * Parquet file in the same run: the tool a user would otherwise reach for. File sizes beside times.
 *
 *   npm run bench -- embedded
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureRentalsDataset } from '@ferry/sample-rentals';
import { BENCH_DIR } from './dataset.js';
import { child, type FerryRun } from './child.js';




interface Case {
  /** What a user asks for: the format and its default compression. */
  label: string;
  format: 'csv' | 'jsonl' | 'parquet' | 'arrow';
  /** DuckDB's COPY options for the tool a user would otherwise run, and its label. */
  duckdb: { label: string; options: string; file: string };
  /** The target: Ferry's time over DuckDB's at most this. */
  goal: number;
}

const CASES: readonly Case[] = [
  { label: 'csv.gz', format: 'csv', duckdb: { label: 'COPY to csv, gzip', options: 'FORMAT csv, HEADER, COMPRESSION gzip', file: 'duck.csv.gz' }, goal: 0.5 },
  { label: 'jsonl.gz', format: 'jsonl', duckdb: { label: 'COPY to json (lines), gzip', options: 'FORMAT json, COMPRESSION gzip', file: 'duck.jsonl.gz' }, goal: 0.5 },
  { label: 'parquet', format: 'parquet', duckdb: { label: 'COPY to parquet', options: 'FORMAT parquet', file: 'duck.parquet' }, goal: 1.5 },
  { label: 'arrow.gz', format: 'arrow', duckdb: { label: 'COPY to parquet', options: 'FORMAT parquet', file: 'duck.parquet' }, goal: 1.5 },
];

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export async function benchEmbedded(): Promise<string> {
  const dataDir = join(BENCH_DIR, 'sample');
  await mkdir(dataDir, { recursive: true });
  const parquet = await ensureRentalsDataset(dataDir);
  const out = (name: string) => join(BENCH_DIR, name);
  const lines = [
    '### Embedded source, defaults: the sample dataset (998,400 rows x 19 columns) beside DuckDB COPY',
    '',
    '| export | Ferry s | Ferry MB | encoded by | peak RSS MB | DuckDB | DuckDB s | DuckDB MB | ratio | goal | met? |',
    '| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const c of CASES) {
    const copy = child<{ seconds: number }>('./duckdb-copy.ts', [parquet, out(c.duckdb.file), c.duckdb.options]);
    const duckBytes = (await stat(out(c.duckdb.file))).size;
    await rm(out(c.duckdb.file), { force: true });
    const ferry = child<FerryRun>('./run-export.ts', [JSON.stringify({ source: 'duckdb', dataset: 'sample', parquet, format: c.format, compression: c.format === 'parquet' ? 'none' : 'gzip' })]);
    const ratio = ferry.seconds / copy.seconds;
    process.stderr.write(`${c.label}: Ferry ${ferry.seconds.toFixed(2)} s, DuckDB ${copy.seconds.toFixed(2)} s (${ratio.toFixed(2)}x)\n`);
    lines.push(
      `| ${c.label} | ${ferry.seconds.toFixed(2)} | ${mb(ferry.bytes)} | ${ferry.encodedBy} | ${ferry.peakRssMb.toFixed(0)} | ${c.duckdb.label} | ${copy.seconds.toFixed(2)} | ${mb(duckBytes)} | ${ratio.toFixed(2)} | <= ${c.goal} | ${ratio <= c.goal ? 'yes' : 'no'} |`,
    );
  }
  lines.push('', 'Ratio: Ferry\'s wall time over DuckDB\'s (lower is better). `encoded by`: `source` when DuckDB wrote the file (pushdown), `ferry` for the Arrow path.');
  return lines.join('\n');
}
