/** Benchmarks run each measured program in a fresh process, so its peak RSS is its own. */
import { execFileSync, execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What run-export.ts prints for one export. */
export type FerryRun = { seconds: number; warmSeconds?: number; rows: number; bytes: number; peakRssMb: number; encodedBy: string };

/** Whether this benchmark runs compiled (tools/bench/dist) or from its TypeScript sources. */
const compiled = import.meta.url.endsWith('.js');

/**
 * How to start a script of this folder (`name` without extension). `npm run bench` runs the
 * compiled benchmark (tools/bench/dist) on the packages' builds: plain Node, the way the installed
 * `ferry` CLI runs. Run from source under tsx instead, the children go through tsx too (and its
 * loader thread, about 35 MB of RSS that the installed CLI does not have).
 */
export function script(name: string): { path: string; execArgv: string[] } {
  return {
    path: fileURLToPath(new URL(`${name}${compiled ? '.js' : '.ts'}`, import.meta.url)),
    execArgv: compiled ? [] : ['--import', 'tsx'],
  };
}

/** Run a script of this folder in a fresh process and parse the JSON of its last output line. */
export function child<T>(name: string, args: string[]): T {
  const { path, execArgv } = script(name);
  const out = execFileSync(process.execPath, [...execArgv, path, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** Wall seconds of a shell pipeline (the limits a user would otherwise run: psql, gzip). */
export function timedShell(command: string): number {
  const t0 = performance.now();
  execSync(command, { stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/bash' });
  return (performance.now() - t0) / 1000;
}
