/**
 * PostgreSQL to every format, 5,000,000 rows x 11 columns, on the defaults users get (the source's
 * own pushdown setting and read mode, gzip level 5), each beside the raw read of the same query by
 * psql, `\copy (...) to /dev/null`, run just before it: issue 14's limit is 1.5x of that read.
 * Then, labelled, what other settings cost: gzip level 6 (zlib's default), the other pushdown
 * choice, and the source's two read modes alone (binary COPY decoded into Arrow, the default; the
 * server-side text cursor). Each Ferry row runs in a fresh process (peak RSS is its own), on the
 * packages' builds like the installed CLI (child.ts).
 *
 *   npm run bench -- postgres [rows=5000000]
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { child, timedShell, type FerryRun } from './child.js';
import { ensureBenchData, PG_TABLE, psqlCopyCommand } from './dataset.js';
import { goalCells, table, type Row } from './report.js';

type ReadMode = 'binary' | 'text';
type Run = { seconds: number; rows: number; peakRssMb: number };
const asRow = (r: Run): Omit<Row, 'name'> => ({ seconds: r.seconds, units: r.rows, unit: 'rows', peakRssMb: r.peakRssMb });

function psqlToDevNull(query: string): number {
  return timedShell(psqlCopyCommand(query, '/dev/null'));
}

/** What a user would otherwise run for a compressed text file: psql's COPY piped through gzip -6. */
function psqlPipedToGzip(format: 'csv' | 'jsonl'): { seconds: number; bytes: number } {
  const copy =
    format === 'csv'
      ? psqlCopyCommand(`SELECT * FROM ${PG_TABLE}`, 'stdout with (format csv, header)')
      : psqlCopyCommand(`SELECT row_to_json(r) FROM (SELECT * FROM ${PG_TABLE}) r`, 'stdout');
  const t0 = performance.now();
  const bytes = execSync(`${copy} | gzip -6 | wc -c`, { stdio: ['ignore', 'pipe', 'inherit'], shell: '/bin/bash', encoding: 'utf8' });
  return { seconds: (performance.now() - t0) / 1000, bytes: Number(bytes.trim()) };
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** A format as users ask for it: its default compression (gzip, except Parquet, compressed inside). */
const FORMATS = [
  { label: 'csv.gz', format: 'csv', compression: 'gzip' },
  { label: 'jsonl.gz', format: 'jsonl', compression: 'gzip' },
  { label: 'parquet', format: 'parquet', compression: 'none' },
  { label: 'arrow.gz', format: 'arrow', compression: 'gzip' },
] as const;
const GOAL = 1.5;

export async function benchPostgres(rowsWanted = 5_000_000): Promise<string> {
  const { parquet, rows } = await ensureBenchData(rowsWanted);
  const loadBefore = loadavg();
  const psql = () => psqlToDevNull(`SELECT * FROM ${PG_TABLE}`);
  const exported = (f: (typeof FORMATS)[number], settings: { pushdown?: boolean; level?: number; readMode?: ReadMode } = {}) =>
    child<FerryRun>('./run-export', [JSON.stringify({ source: 'postgres', parquet, format: f.format, compression: f.compression, ...settings })]);

  const lines = [
    `### PostgreSQL, defaults: ${rows.toLocaleString('en-US')} rows x 11 columns beside psql \\copy to /dev/null`,
    '',
    '| export | Ferry s | Ferry MB | encoded by | peak RSS MB | psql s | ratio | goal | met? |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  // Issue 14's last word: compressed text at least twice as fast as what a user would otherwise run.
  const piped = [
    '',
    `### PostgreSQL, defaults, beside what a user would otherwise run: psql piped to gzip -6, ${rows.toLocaleString('en-US')} rows`,
    '',
    '| export | Ferry s | Ferry MB | psql \\| gzip -6 s | its MB | ratio | goal | met? |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const row = (label: string, run: FerryRun, limit: number, goal = true) =>
    `| ${label} | ${run.seconds.toFixed(2)} | ${(run.bytes / 1e6).toFixed(1)} | ${run.encodedBy} | ${run.peakRssMb.toFixed(0)} | ${limit.toFixed(2)} | ${(run.seconds / limit).toFixed(2)} | ${goal ? goalCells(run.seconds / limit, GOAL) : ' | '} |`;
  for (const f of FORMATS) {
    const limit = psql();
    const ferry = exported(f);
    process.stderr.write(`${f.label}: Ferry ${ferry.seconds.toFixed(2)} s, psql ${limit.toFixed(2)} s (${(ferry.seconds / limit).toFixed(2)}x)\n`);
    lines.push(row(f.label, ferry, limit));
    if (f.format === 'csv' || f.format === 'jsonl') {
      const other = psqlPipedToGzip(f.format);
      const ratio = ferry.seconds / other.seconds;
      piped.push(
        `| ${f.label} | ${ferry.seconds.toFixed(2)} | ${(ferry.bytes / 1e6).toFixed(1)} | ${other.seconds.toFixed(2)} | ${(other.bytes / 1e6).toFixed(1)} | ${ratio.toFixed(2)} | ${goalCells(ratio, 0.5)} |`,
      );
    }
    // Other settings, labelled, measured beside the same read.
    if (f.compression === 'gzip') lines.push(row(`${f.label}, gzip level 6 (zlib's default, not Ferry's)`, exported(f, { level: 6 }), limit, false));
    // The source pushes csv down by default and reads jsonl on the Arrow path: the other choice of each.
    if (f.format === 'csv') lines.push(row(`${f.label}, Arrow path (pushdown off)`, exported(f, { pushdown: false }), limit, false));
    if (f.format === 'jsonl') lines.push(row(`${f.label}, pushdown (COPY of JSON expressions)`, exported(f, { pushdown: true }), limit, false));
  }
  const read = (mode: ReadMode) => child<Run>('./pg-read', [mode]);
  const reads: Row[] = [
    { name: 'psql \\copy (SELECT * ...) to /dev/null', seconds: psql(), units: rows, unit: 'rows', baseline: true },
    { name: 'source read only, binary COPY (default)', ...asRow(read('binary')) },
    { name: 'source read only, text cursor', ...asRow(read('text')) },
  ];
  return [
    ...lines,
    ...piped,
    '',
    table(`PostgreSQL source reads alone (batches read and dropped), ${rows.toLocaleString('en-US')} rows x 11 columns`, reads),
    '',
    `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadavg()}. Ratio: wall time / psql's (lower is better).`,
  ].join('\n');
}

