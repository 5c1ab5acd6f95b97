/**
 * DuckDB's own COPY of the benchmark Parquet to a file, in its own process; prints {seconds} (and
 * {warmSeconds}, the median of the later COPYs, when it runs more than once). Optional 4th argument:
 * a row limit; 5th: how many times to run the COPY, one after another (default 1).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { firstAndWarm } from './report.js';

const [parquet, out, options, limit, repeat] = [process.argv[2]!, process.argv[3]!, process.argv[4]!, process.argv[5], Number(process.argv[6] ?? 1)];
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const times: number[] = [];
for (let i = 0; i < repeat; i++) {
  const t0 = performance.now();
  await conn.run(`COPY (SELECT * FROM read_parquet('${parquet}')${limit ? ` LIMIT ${Number(limit)}` : ''}) TO '${out}' (${options})`);
  times.push((performance.now() - t0) / 1000);
}
process.stdout.write(`${JSON.stringify(firstAndWarm(times))}\n`);
conn.closeSync();
