/** DuckDB's own COPY of the benchmark Parquet to a file, in its own process; prints {seconds}. Optional 4th argument: a row limit. */
import { DuckDBInstance } from '@duckdb/node-api';

const [parquet, out, options, limit] = [process.argv[2]!, process.argv[3]!, process.argv[4]!, process.argv[5]];
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const t0 = performance.now();
await conn.run(`COPY (SELECT * FROM read_parquet('${parquet}')${limit ? ` LIMIT ${Number(limit)}` : ''}) TO '${out}' (${options})`);
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t0) / 1000 })}\n`);
conn.closeSync();
