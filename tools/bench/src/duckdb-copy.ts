/** DuckDB's own COPY of the benchmark Parquet to a file, in its own process; prints {seconds}. */
import { DuckDBInstance } from '@duckdb/node-api';

const [parquet, out, options] = [process.argv[2]!, process.argv[3]!, process.argv[4]!];
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const t0 = performance.now();
await conn.run(`COPY (SELECT * FROM read_parquet('${parquet}')) TO '${out}' (${options})`);
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t0) / 1000 })}\n`);
conn.closeSync();
