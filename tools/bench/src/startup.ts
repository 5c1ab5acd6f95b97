/**
 * Start-up of `ferry serve` with the default configuration: the time from spawning the process to
 * its first `200` from /readyz, and its resident memory then, beside the floor of this machine
 * (Node with tsx loading an empty TypeScript file: what every `npm start` pays before Ferry's code
 * runs) and beside the same start with every built-in plugin module (and so every SDK) imported up
 * front, which is what start-up cost before plugins were loaded lazily.
 *
 *   npm run bench -- startup [runs=5]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './report.js';

const MAIN = fileURLToPath(new URL('../../../apps/cli/src/main.ts', import.meta.url));
// Always the TypeScript sources, from src/ or dist/ alike: this benchmark measures `npm start`, which runs through tsx.
const EAGER = fileURLToPath(new URL('../src/startup-eager-plugins.ts', import.meta.url));
const NODE_ARGS = ['--conditions=@ferry/source', '--import', 'tsx'];

interface Start {
  seconds: number;
  /** Resident set size once ready (VmRSS), and the most it reached on the way (VmHWM). */
  rssMb: number;
  peakRssMb: number;
}

/** VmRSS and VmHWM of a live process, in MB (Linux). */
function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** Spawn `ferry serve`, poll /readyz until it answers 200, measure, then stop it with SIGTERM. */
async function startFerry(dataDir: string, preload: string[]): Promise<Start> {
  const started = performance.now();
  const child = spawn(process.execPath, [...NODE_ARGS, ...preload.flatMap((p) => ['--import', p]), MAIN, 'serve'], {
    env: { ...process.env, FERRY_PORT: '0', FERRY_DATA_DIR: dataDir, FERRY_LOG_LEVEL: 'silent', FERRY_API_KEY: 'startup-bench-key-123' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ferry exited with ${child.exitCode}: ${out}`);
      if (performance.now() - started > 120_000) throw new Error(`ferry not ready after 120 s: ${out}`);
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url && (await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const seconds = (performance.now() - started) / 1000;
    return { seconds, ...memoryOf(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** The floor: Node and tsx starting and running an empty TypeScript file to its end. */
async function startEmpty(file: string): Promise<Start> {
  const started = performance.now();
  const child = spawn(process.execPath, [...NODE_ARGS, file], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`empty script exited with ${code}`)))));
  return { seconds: (performance.now() - started) / 1000, rssMb: NaN, peakRssMb: NaN };
}

export async function benchStartup(runs = 5): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-startup-'));
  try {
    const empty = join(dir, 'empty.ts');
    await writeFile(empty, 'export {};\n');
    const dataDir = join(dir, 'data');
    // The first start generates the sample dataset and warms tsx's cache: not what is measured.
    await startFerry(dataDir, []);
    const variants: Array<{ name: string; run: () => Promise<Start>; floor?: boolean }> = [
      { name: 'node + tsx, empty file', run: () => startEmpty(empty), floor: true },
      { name: '`ferry serve`, default config (plugins loaded lazily)', run: () => startFerry(dataDir, []) },
      { name: '`ferry serve`, default config, every plugin module imported up front', run: () => startFerry(dataDir, [EAGER]) },
    ];
    const results = variants.map(() => [] as Start[]);
    // Interleaved, so that whatever else the machine does affects every variant alike.
    for (let i = 0; i < runs; i++) {
      for (const [v, variant] of variants.entries()) results[v]!.push(await variant.run());
    }
    const floor = median(results[variants.findIndex((v) => v.floor)]!.map((r) => r.seconds));
    const mb = (x: number) => (Number.isNaN(x) ? '' : x.toFixed(0));
    const lines = [
      `### Start-up: spawn to /readyz 200, median of ${runs} runs`,
      '',
      '| run | start s | RSS when ready MB | peak RSS MB | ratio to floor |',
      '| --- | ---: | ---: | ---: | ---: |',
    ];
    variants.forEach((variant, v) => {
      const rs = results[v]!;
      const seconds = median(rs.map((r) => r.seconds));
      lines.push(
        `| ${variant.name}${variant.floor ? ' (floor)' : ''} | ${seconds.toFixed(2)} | ${mb(median(rs.map((r) => r.rssMb)))} | ${mb(median(rs.map((r) => r.peakRssMb)))} | ${(seconds / floor).toFixed(2)} |`,
      );
    });
    return lines.join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
