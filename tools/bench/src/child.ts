/** Benchmarks run each measured program in a fresh process, so its peak RSS is its own. */
import { execFileSync, execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What run-export.ts prints for one export. */
export type FerryRun = { seconds: number; rows: number; bytes: number; peakRssMb: number; encodedBy: string };

/** Run a script of this folder under tsx and parse the JSON of its last output line. */
export function child<T>(script: string, args: string[]): T {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', path, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** Wall seconds of a shell pipeline (the limits a user would otherwise run: psql, gzip). */
export function timedShell(command: string): number {
  const t0 = performance.now();
  execSync(command, { stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/bash' });
  return (performance.now() - t0) / 1000;
}
