/**
 * Scaling: the same exports at 1M, 5M and 25M rows of the benchmark table (11 columns), on the
 * embedded (DuckDB over Parquet) and PostgreSQL paths, each on the defaults users get, in a fresh
 * process. Time should grow linearly with rows and peak RSS stay flat. Beside them, the raw reads
 * at each size (`psql \copy ... to /dev/null`, DuckDB's Parquet COPY). Writes the table and a
 * plot (PNG, rendered by Chromium) to docs/benchmarks-scaling.png.
 *
 *   npm run bench -- scaling [maxRows=25000000]
 *
 * Building the 25M-row table takes a few minutes the first time (Parquet, then PostgreSQL's copy of
 * it, replacing the 5M-row one the other benchmarks use until they rebuild it).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { child, timedShell, type FerryRun } from './child.js';
import { BENCH_DIR, PG_TABLE, ensureBenchData, psqlCopyCommand } from './dataset.js';
import { renderPng, type Series } from './plot.js';

type Source = 'duckdb' | 'postgres';
const EXPORTS: ReadonlyArray<{ label: string; source: Source; format: string; compression: string }> = [
  { label: 'DuckDB -> csv.gz', source: 'duckdb', format: 'csv', compression: 'gzip' },
  { label: 'DuckDB -> jsonl.gz', source: 'duckdb', format: 'jsonl', compression: 'gzip' },
  { label: 'DuckDB -> parquet', source: 'duckdb', format: 'parquet', compression: 'none' },
  { label: 'DuckDB -> arrow.gz', source: 'duckdb', format: 'arrow', compression: 'gzip' },
  { label: 'PostgreSQL -> csv.gz', source: 'postgres', format: 'csv', compression: 'gzip' },
  { label: 'PostgreSQL -> jsonl.gz', source: 'postgres', format: 'jsonl', compression: 'gzip' },
  { label: 'PostgreSQL -> parquet', source: 'postgres', format: 'parquet', compression: 'none' },
  { label: 'PostgreSQL -> arrow.gz', source: 'postgres', format: 'arrow', compression: 'gzip' },
];

const millions = (rows: number) => `${+(rows / 1e6).toFixed(2)}M`;

export async function benchScaling(maxRows = 25_000_000): Promise<string> {
  const { parquet } = await ensureBenchData(maxRows);
  const sizes = [maxRows / 25, maxRows / 5, maxRows];
  const limits = sizes.map((n) => ({
    psql: timedShell(psqlCopyCommand(`SELECT * FROM ${PG_TABLE} LIMIT ${n}`, '/dev/null')),
    duckdb: child<{ seconds: number }>('./duckdb-copy', [parquet, join(BENCH_DIR, 'scaling.parquet'), 'FORMAT parquet', String(n)]).seconds,
  }));
  await rm(join(BENCH_DIR, 'scaling.parquet'), { force: true });
  const runs = EXPORTS.map((e) => ({
    ...e,
    results: sizes.map((limit) => {
      const run = child<FerryRun>('./run-export', [JSON.stringify({ source: e.source, parquet, format: e.format, compression: e.compression, limit })]);
      process.stderr.write(`${e.label}, ${millions(limit)} rows: ${run.seconds.toFixed(2)} s, ${run.peakRssMb.toFixed(0)} MB\n`);
      return run;
    }),
  }));

  const head = (what: string) => [`| ${what} | ${sizes.map((n) => `${millions(n)} rows`).join(' | ')} |`, `| --- |${sizes.map(() => ' ---: |').join('')}`];
  const perMillion = (seconds: number, rows: number) => `${seconds.toFixed(2)} (${((seconds / rows) * 1e6).toFixed(2)}/M)`;
  const lines = [
    `### Scaling: wall seconds (seconds per million rows), ${sizes.map(millions).join(', ')} rows x 11 columns, defaults`,
    '',
    ...head('export'),
    `| psql \\copy to /dev/null (raw read) | ${limits.map((l, i) => perMillion(l.psql, sizes[i]!)).join(' | ')} |`,
    `| DuckDB COPY to parquet | ${limits.map((l, i) => perMillion(l.duckdb, sizes[i]!)).join(' | ')} |`,
    ...runs.map((r) => `| ${r.label} (${r.results[0]!.encodedBy}) | ${r.results.map((x) => perMillion(x.seconds, x.rows)).join(' | ')} |`),
    '',
    '### Scaling: peak RSS (MB)',
    '',
    ...head('export'),
    ...runs.map((r) => `| ${r.label} | ${r.results.map((x) => x.peakRssMb.toFixed(0)).join(' | ')} |`),
  ];

  const series = (pick: (run: FerryRun) => number): Series[] =>
    runs.map((r) => ({ name: r.label, points: r.results.map((x, i) => [sizes[i]! / 1e6, pick(x)] as const) }));
  const png = fileURLToPath(new URL('../../../docs/benchmarks-scaling.png', import.meta.url));
  await renderPng(
    [
      { title: 'Wall time', xLabel: 'rows (millions)', yLabel: 'seconds', series: series((x) => x.seconds) },
      { title: 'Peak RSS', xLabel: 'rows (millions)', yLabel: 'MB', series: series((x) => x.peakRssMb) },
    ],
    png,
  );
  lines.push('', `Plot: docs/benchmarks-scaling.png`);
  return lines.join('\n');
}
