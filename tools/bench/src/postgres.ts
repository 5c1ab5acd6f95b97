/**
 * PostgreSQL to every format, 5,000,000 rows x 11 columns: the source's two read modes (binary
 * COPY decoded into Arrow, the default; the server-side text cursor) beside the raw read of the
 * same query by psql, `\copy (...) to /dev/null`, measured in the same run. Each Ferry row runs in
 * a fresh process (peak RSS is its own), on the packages' builds like the installed CLI (child.ts).
 *
 *   npm run bench -- postgres [rows=5000000]
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { child } from './child.js';
import { ensureBenchData, PG, PG_TABLE } from './dataset.js';
import { table, type Row } from './report.js';

type ReadMode = 'binary' | 'text';
type Run = { seconds: number; rows: number; peakRssMb: number };

function psqlToDevNull(query: string): number {
  const t0 = performance.now();
  execSync(`psql -h ${PG.host} -p ${PG.port} -U ${PG.user} -d ${PG.database} -q -c "\\copy (${query}) to /dev/null"`, { stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/bash' });
  return (performance.now() - t0) / 1000;
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export async function benchPostgres(rowsWanted = 5_000_000): Promise<string> {
  const { parquet, rows } = await ensureBenchData(rowsWanted);
  const loadBefore = loadavg();
  const row = (name: string, r: Run): Row => ({ name, seconds: r.seconds, units: r.rows, unit: 'rows', peakRssMb: r.peakRssMb });
  const read = (mode: ReadMode) => child<Run>('./pg-read', [mode]);
  const exported = (format: string, compression: string, pushdown: boolean, readMode?: ReadMode) =>
    child<Run>('./run-export', [JSON.stringify({ source: 'postgres', parquet, format, compression, pushdown, level: 1, ...(readMode ? { readMode } : {}) })]);

  const runs: Row[] = [
    { name: 'psql \\copy (SELECT * ...) to /dev/null', seconds: psqlToDevNull(`SELECT * FROM ${PG_TABLE}`), units: rows, unit: 'rows', baseline: true },
    row('source read only, binary COPY (default)', read('binary')),
    row('source read only, text cursor', read('text')),
  ];
  for (const [format, compression] of [
    ['parquet', 'none'],
    ['arrow', 'none'],
    ['csv', 'gzip'],
    ['jsonl', 'gzip'],
  ] as const) {
    const file = compression === 'gzip' ? `${format}.gz` : format;
    // The source's defaults: csv pushed down, every other format on the Arrow path with binary COPY.
    const byDefault = (pushdown: boolean) => ((format === 'csv') === pushdown ? ' (default)' : '');
    if (format === 'csv' || format === 'jsonl') runs.push(row(`-> ${file}, pushdown${byDefault(true)}`, exported(format, compression, true)));
    runs.push(row(`-> ${file}, Arrow path, binary COPY${byDefault(false)}`, exported(format, compression, false, 'binary')));
    runs.push(row(`-> ${file}, Arrow path, text cursor`, exported(format, compression, false, 'text')));
  }
  return [
    table(`PostgreSQL reads and exports, ${rows.toLocaleString('en-US')} rows x 11 columns`, runs),
    '',
    `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadavg()}. gzip level 1. Ratio: wall time / psql's (lower is better).`,
  ].join('\n');
}
