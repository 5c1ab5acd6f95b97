/**
 * Query to stored file, 5,000,000 rows x 11 columns, on PostgreSQL and on Parquet: Ferry (pushdown
 * and the generic Arrow path) beside the physical limits measured in the same run (psql \copy |
 * gzip, DuckDB COPY) and the pipeline a team would write by hand.
 *
 *   npm run bench -- exports [rows=5000000]
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, PG_TABLE, ensureBenchData, psqlCopyCommand } from './dataset.js';
import { table, type Row } from './report.js';
import { child, timedShell, type FerryRun } from './child.js';

const LEVEL = 1;

function ferry(source: 'duckdb' | 'postgres', parquet: string, format: string, compression: string, pushdown: boolean, limit?: number): FerryRun {
  return child<FerryRun>('./run-export', [JSON.stringify({ source, parquet, format, compression, pushdown, level: LEVEL, limit })]);
}

/** Peak RSS of the same exports at growing sizes: flat memory means it does not grow with rows. */
export async function benchMemory(): Promise<string> {
  const { parquet, rows } = await ensureBenchData();
  const sizes = [rows / 10, rows / 2, rows];
  const runs: Array<[string, 'duckdb' | 'postgres', string, string, boolean]> = [
    ['PostgreSQL -> csv.gz, pushdown', 'postgres', 'csv', 'gzip', true],
    ['PostgreSQL -> csv.gz, Arrow path', 'postgres', 'csv', 'gzip', false],
    ['PostgreSQL -> parquet', 'postgres', 'parquet', 'none', false],
    ['Parquet (DuckDB) -> csv.gz', 'duckdb', 'csv', 'gzip', false],
    ['Parquet (DuckDB) -> jsonl.gz', 'duckdb', 'jsonl', 'gzip', false],
    ['Parquet (DuckDB) -> parquet', 'duckdb', 'parquet', 'none', false],
    ['Parquet (DuckDB) -> arrow', 'duckdb', 'arrow', 'none', false],
  ];
  const lines = [
    `### Peak RSS (MB) by export size`,
    '',
    `| export | ${sizes.map((n) => `${n.toLocaleString('en-US')} rows`).join(' | ')} |`,
    `| --- |${sizes.map(() => ' ---: |').join('')}`,
  ];
  for (const [name, source, format, compression, pushdown] of runs) {
    const peaks = sizes.map((n) => ferry(source, parquet, format, compression, pushdown, n).peakRssMb.toFixed(0));
    lines.push(`| ${name} | ${peaks.join(' | ')} |`);
  }
  return lines.join('\n');
}

export async function benchExports(rowsWanted = 5_000_000): Promise<string> {
  const { parquet, rows } = await ensureBenchData(rowsWanted);
  const out = (name: string) => join(BENCH_DIR, name);
  const tables: string[] = [];
  const ferryRow = (name: string, r: FerryRun): Row => ({ name: `${name} (${r.encodedBy})`, seconds: r.seconds, units: r.rows, unit: 'rows', peakRssMb: r.peakRssMb });

  // --- csv.gz from PostgreSQL
  {
    const limit = timedShell(`${psqlCopyCommand(`SELECT * FROM ${PG_TABLE}`, 'stdout with csv header')} | gzip -${LEVEL} > ${out('psql.csv.gz')}`);
    const hand = child<{ seconds: number; rows: number; peakRssMb: number }>('./handwritten', [out('hand.csv.gz'), String(LEVEL)]);
    tables.push(
      table(`PostgreSQL -> csv.gz (gzip level ${LEVEL}), ${rows.toLocaleString('en-US')} rows`, [
        { name: 'psql \\copy | gzip', seconds: limit, units: rows, unit: 'rows', baseline: true },
        ferryRow('Ferry, pushdown', ferry('postgres', parquet, 'csv', 'gzip', true)),
        ferryRow('Ferry, generic Arrow path', ferry('postgres', parquet, 'csv', 'gzip', false)),
        { name: 'hand-written Node (pg-cursor + row objects + zlib)', seconds: hand.seconds, units: hand.rows, unit: 'rows', peakRssMb: hand.peakRssMb },
      ]),
    );
  }
  // --- csv.gz from Parquet (DuckDB)
  {
    const copy = child<{ seconds: number }>('./duckdb-copy', [parquet, out('duck.csv.gz'), 'FORMAT csv, HEADER, COMPRESSION gzip']);
    const plain = child<{ seconds: number }>('./duckdb-copy', [parquet, out('duck.csv'), 'FORMAT csv, HEADER']);
    tables.push(
      table(`Parquet (DuckDB) -> csv.gz, ${rows.toLocaleString('en-US')} rows`, [
        { name: 'DuckDB COPY to csv.gz', seconds: copy.seconds, units: rows, unit: 'rows', baseline: true },
        { name: 'DuckDB COPY to csv (uncompressed, for scale)', seconds: plain.seconds, units: rows, unit: 'rows' },
        ferryRow('Ferry, pushdown', ferry('duckdb', parquet, 'csv', 'gzip', true)),
        ferryRow('Ferry, generic Arrow path', ferry('duckdb', parquet, 'csv', 'gzip', false)),
        ferryRow('Ferry, generic Arrow path, no compression', ferry('duckdb', parquet, 'csv', 'none', false)),
      ]),
    );
  }
  // --- jsonl.gz
  {
    const copy = child<{ seconds: number }>('./duckdb-copy', [parquet, out('duck.jsonl.gz'), 'FORMAT json, COMPRESSION gzip']);
    tables.push(
      table(`-> jsonl.gz, ${rows.toLocaleString('en-US')} rows`, [
        { name: 'DuckDB COPY to json (lines) gz', seconds: copy.seconds, units: rows, unit: 'rows', baseline: true },
        ferryRow('Ferry from Parquet, pushdown', ferry('duckdb', parquet, 'jsonl', 'gzip', true)),
        ferryRow('Ferry from Parquet, generic Arrow path', ferry('duckdb', parquet, 'jsonl', 'gzip', false)),
        ferryRow('Ferry from PostgreSQL, pushdown', ferry('postgres', parquet, 'jsonl', 'gzip', true)),
        ferryRow('Ferry from PostgreSQL, generic Arrow path', ferry('postgres', parquet, 'jsonl', 'gzip', false)),
      ]),
    );
  }
  // --- parquet
  {
    const copy = child<{ seconds: number }>('./duckdb-copy', [parquet, out('duck.parquet'), 'FORMAT parquet']);
    tables.push(
      table(`-> parquet, ${rows.toLocaleString('en-US')} rows`, [
        { name: 'DuckDB COPY to parquet', seconds: copy.seconds, units: rows, unit: 'rows', baseline: true },
        ferryRow('Ferry from Parquet (DuckDB), parquet-wasm zstd', ferry('duckdb', parquet, 'parquet', 'none', false)),
        ferryRow('Ferry from PostgreSQL, parquet-wasm zstd', ferry('postgres', parquet, 'parquet', 'none', false)),
      ]),
    );
  }
  const sizes = ['psql.csv.gz', 'duck.csv.gz'].map((f) => `${f}: ${(statSync(out(f)).size / 1e6).toFixed(0)} MB`).join(', ');
  for (const f of ['psql.csv.gz', 'hand.csv.gz', 'duck.csv.gz', 'duck.csv', 'duck.jsonl.gz', 'duck.parquet']) rmSync(out(f), { force: true });
  return `${tables.join('\n\n')}\n\nFile sizes: ${sizes}. Ratio column: wall time / the limit's wall time (lower is better).`;
}
