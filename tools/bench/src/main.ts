/**
 * Ferry's benchmarks. Each prints a markdown table with Ferry beside the machine's limit, measured
 * in the same run, and the ratio between them. Results are recorded in docs/benchmarks.md.
 *
 *   npm run bench -- deliveries [count] [concurrency]
 *   npm run bench -- embedded
 *   npm run bench -- exports [rows]
 *   npm run bench -- memory
 *   npm run bench -- postgres [rows]
 *   npm run bench -- scale-out [quick] [claims | deliveries]
 *   npm run bench -- scaling [maxRows]
 *   npm run bench -- startup [runs]
 */
import { benchDeliveries } from './deliveries.js';
import { benchEmbedded } from './embedded.js';
import { benchExports, benchMemory } from './exports.js';
import { benchPostgres } from './postgres.js';
import { benchScaleOut } from './scale-out.js';
import { benchScaling } from './scaling.js';
import { benchStartup } from './startup.js';

const BENCHES: Record<string, (args: string[]) => Promise<string>> = {
  deliveries: (args) => benchDeliveries(args[0] ? Number(args[0]) : undefined, args[1] ? Number(args[1]) : undefined),
  embedded: () => benchEmbedded(),
  exports: (args) => benchExports(args[0] ? Number(args[0]) : undefined),
  memory: () => benchMemory(),
  postgres: (args) => benchPostgres(args[0] ? Number(args[0]) : undefined),
  'scale-out': (args) => benchScaleOut(args),
  scaling: (args) => benchScaling(args[0] ? Number(args[0]) : undefined),
  startup: (args) => benchStartup(args[0] ? Number(args[0]) : undefined),
};

const [name, ...args] = process.argv.slice(2);
const selected = name ? [name] : Object.keys(BENCHES);
for (const n of selected) {
  const bench = BENCHES[n];
  if (!bench) {
    process.stderr.write(`unknown benchmark "${n}"; known: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(`${await bench(args)}\n\n`);
}
