/**
 * The embedded path on the defaults users get: the whole sample dataset (998,400 rows x 19
 * columns, as `ferry serve` exposes it), `orderBy: null`, every option at its default (the DuckDB
 * source's pushdown setting, gzip level 5, the formats' own options), through the real export
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
import { goalCells } from './report.js';

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
/** gzip levels beside the default (5), to show what each costs in time and bytes. */
const OTHER_LEVELS: ReadonlyArray<{ level: number; label: string }> = [
  { level: 6, label: "zlib's default, not Ferry's" },
  { level: 1, label: 'the fastest, not the default' },
];

export async function benchEmbedded(): Promise<string> {
  const dataDir = join(BENCH_DIR, 'sample');
  await mkdir(dataDir, { recursive: true });
  const parquet = await ensureRentalsDataset(dataDir);
  const out = (name: string) => join(BENCH_DIR, name);
  // A format's default compression: gzip, except Parquet (compressed inside).
  const exportSpec = (c: Case, extra: { together?: number; level?: number; limit?: number; repeat?: number } = {}) =>
    JSON.stringify({ source: 'duckdb', dataset: 'sample', parquet, format: c.format, compression: c.format === 'parquet' ? 'none' : 'gzip', ...extra });
  const lines = [
    '### Embedded source, defaults: the sample dataset (998,400 rows x 19 columns) beside DuckDB COPY',
    '',
    '| export | Ferry s | Ferry MB | encoded by | peak RSS MB | DuckDB | DuckDB s | DuckDB MB | ratio | goal | met? |',
    '| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const c of CASES) {
    const copy = child<{ seconds: number }>('./duckdb-copy', [parquet, out(c.duckdb.file), c.duckdb.options]);
    const duckBytes = (await stat(out(c.duckdb.file))).size;
    await rm(out(c.duckdb.file), { force: true });
    const ferry = child<FerryRun>('./run-export', [exportSpec(c)]);
    process.stderr.write(`${c.label}: Ferry ${ferry.seconds.toFixed(2)} s, DuckDB ${copy.seconds.toFixed(2)} s (${(ferry.seconds / copy.seconds).toFixed(2)}x)\n`);
    const row = (label: string, run: FerryRun) =>
      `| ${label} | ${run.seconds.toFixed(2)} | ${mb(run.bytes)} | ${run.encodedBy} | ${run.peakRssMb.toFixed(0)} | ${c.duckdb.label} | ${copy.seconds.toFixed(2)} | ${mb(duckBytes)} | ${(run.seconds / copy.seconds).toFixed(2)} | ${goalCells(run.seconds / copy.seconds, c.goal)} |`;
    lines.push(row(c.label, ferry));
    // What another gzip level would buy, and cost in bytes: labelled, never the default.
    if (c.format !== 'parquet') {
      for (const other of OTHER_LEVELS) lines.push(row(`${c.label}, gzip level ${other.level} (${other.label})`, child<FerryRun>('./run-export', [exportSpec(c, { level: other.level })])));
    }
  }
  lines.push('', 'Ratio: Ferry\'s wall time over DuckDB\'s (lower is better). `encoded by`: `source` when DuckDB wrote the file (pushdown), `ferry` for the Arrow path.');

  // Memory with two exports at once in one worker (its default concurrency): the goal is 450 MB.
  lines.push(
    '',
    '### Two exports at once in one worker (its default concurrency of 2), the same sample dataset',
    '',
    '| exports | wall s for both | peak RSS MB | goal | met? |',
    '| --- | ---: | ---: | ---: | --- |',
  );
  for (const c of CASES) {
    const both = child<FerryRun>('./run-export', [exportSpec(c, { together: 2 })]);
    process.stderr.write(`2 x ${c.label}: ${both.seconds.toFixed(2)} s, ${both.peakRssMb.toFixed(0)} MB\n`);
    lines.push(`| 2 x ${c.label} | ${both.seconds.toFixed(2)} | ${both.peakRssMb.toFixed(0)} | ${goalCells(both.peakRssMb, 450)} |`);
  }

  // Small exports: what one costs beyond its rows (claim, plan, pipe, store, record), first in a
  // worker and once warm, beside DuckDB's COPY of the same rows run the same way in one process.
  const SMALL = { rows: 10, repeat: 21 };
  lines.push(
    '',
    `### Small exports: ${SMALL.rows} rows of the sample dataset, one worker, the first and the median of the next ${SMALL.repeat - 1}`,
    '',
    '| export | Ferry first ms | Ferry warm ms | DuckDB | DuckDB first ms | DuckDB warm ms | warm ratio |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: |',
  );
  const ms = (seconds: number | undefined) => ((seconds ?? NaN) * 1000).toFixed(1);
  for (const c of CASES) {
    if (c.format === 'arrow') continue; // DuckDB has no Arrow COPY: its Parquet row is the same limit
    const copy = child<{ seconds: number; warmSeconds?: number }>('./duckdb-copy', [parquet, out(c.duckdb.file), c.duckdb.options, String(SMALL.rows), String(SMALL.repeat)]);
    await rm(out(c.duckdb.file), { force: true });
    const ferry = child<FerryRun>('./run-export', [exportSpec(c, { limit: SMALL.rows, repeat: SMALL.repeat })]);
    process.stderr.write(`small ${c.label}: Ferry ${ms(ferry.seconds)} / ${ms(ferry.warmSeconds)} ms, DuckDB ${ms(copy.seconds)} / ${ms(copy.warmSeconds)} ms\n`);
    lines.push(
      `| ${c.label} | ${ms(ferry.seconds)} | ${ms(ferry.warmSeconds)} | ${c.duckdb.label} | ${ms(copy.seconds)} | ${ms(copy.warmSeconds)} | ${(ferry.warmSeconds! / copy.warmSeconds!).toFixed(1)} |`,
    );
  }
  lines.push(
    '',
    "Ferry's time is the whole job in the worker: claimed from the job store, planned, written by DuckDB, stored, and recorded as completed (each step committed to the job store on disk); DuckDB's is the COPY alone.",
  );
  return lines.join('\n');
}
