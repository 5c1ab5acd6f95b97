/**
 * Benchmark work spread over real worker processes. The parent forks one process per spec, waits
 * until every one has its connections open ("ready"), lets them all go at once, and times the run
 * until the last one reports "done". A child either finishes by itself (its work ran out) or, when
 * the parent passes `stopAt`, is told to stop once the processes together have done that many units.
 *
 * Parent: `runProcesses(name, specs, options)` (a script of this folder, see `script`). Child: `serveParent(prepare)`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { script } from './child.js';
import { measure } from './report.js';

type ToChild = 'go' | 'stop';
type FromChild =
  | { type: 'ready' }
  | { type: 'progress'; units: number }
  | { type: 'done'; units: number; peakRssMb: number; setbacks: Setbacks }
  | { type: 'error'; message: string };

export interface ProcessesRun {
  seconds: number;
  /** Units all processes reported done. */
  units: number;
  /** The largest peak RSS among the worker processes. */
  peakRssMb: number;
  /** What the processes met and got past, as the engine would (summed over processes). */
  setbacks: Setbacks;
}

/** A measured run's figure on stderr as it comes: a long benchmark shows where it is. */
export function progressLine(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** Counts by kind, e.g. `{ 'busy store errors retried': 3 }`. */
export type Setbacks = Record<string, number>;

/** ` (3 busy store errors retried, 1 lease lost)`, or nothing when there were none: appended to a row's name. */
export function setbackNote(setbacks: Setbacks): string {
  const parts = Object.entries(setbacks)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${what}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export interface ProcessesOptions {
  /** Kill every process and fail when the run (start-up included) takes longer. */
  timeoutMs: number;
  /** Tell every process to stop once they have done this many units together. */
  stopAt?: number;
}

/** Fork one process of `script` per spec (passed as JSON in argv[2]) and time them from "go" to the last "done". */
export async function runProcesses(name: string, specs: readonly unknown[], options: ProcessesOptions): Promise<ProcessesRun> {
  const children: ChildProcess[] = [];
  const progress = specs.map(() => 0);
  let stopSent = false;
  let fail!: (err: Error) => void;
  // The first thing to go wrong anywhere (a process failing or dying, or the time running out) ends the run.
  const failed = new Promise<never>((_, reject) => (fail = reject));
  // Raced below while the run lasts; a failure after it (a process killed at the end) is of no interest.
  failed.catch(() => undefined);
  const timer = setTimeout(() => fail(new Error(`worker processes still running after ${options.timeoutMs} ms`)), options.timeoutMs);
  const { path, execArgv } = script(name);
  try {
    const started = specs.map((spec, i) => {
      const child = fork(path, [JSON.stringify(spec)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      let ready!: () => void;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const done = new Promise<{ units: number; peakRssMb: number; setbacks: Setbacks }>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`worker process ${i} exited with ${String(code)} before reporting`)));
        child.on('message', (m: FromChild) => {
          if (m.type === 'ready') ready();
          else if (m.type === 'error') reject(new Error(`worker process ${i}: ${m.message}`));
          else if (m.type === 'done') resolve(m);
          else {
            progress[i] = m.units;
            if (options.stopAt !== undefined && !stopSent && progress.reduce((a, b) => a + b, 0) >= options.stopAt) {
              stopSent = true;
              for (const c of children) send(c, 'stop');
            }
          }
        });
      });
      done.catch(fail);
      return { child, isReady, done };
    });
    await Promise.race([Promise.all(started.map((s) => s.isReady)), failed]);
    const run = await measure(async () => {
      for (const s of started) send(s.child, 'go');
      return Promise.race([Promise.all(started.map((s) => s.done)), failed]);
    });
    return {
      seconds: run.seconds,
      units: run.value.reduce((n, r) => n + r.units, 0),
      peakRssMb: Math.max(...run.value.map((r) => r.peakRssMb)),
      setbacks: run.value.reduce<Setbacks>((sum, r) => {
        for (const [what, n] of Object.entries(r.setbacks)) sum[what] = (sum[what] ?? 0) + n;
        return sum;
      }, {}),
    };
  } finally {
    clearTimeout(timer);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function send(child: ChildProcess, message: ToChild): void {
  if (child.connected) child.send(message);
}

/** What a worker process does once told to go. */
export interface ChildWork {
  /** Work until there is none left or `stopped` resolves; returns the units done. */
  run(stopped: Promise<void>): Promise<number>;
  /** Units done so far, reported to the parent while running. */
  progress(): number;
  /** What it met and got past. */
  setbacks(): Setbacks;
  close(): Promise<void>;
}

/** The child side: prepare (open connections), say ready, run on "go", report, exit. */
export function serveParent(prepare: () => Promise<ChildWork>): void {
  const reply = (m: FromChild, exitCode?: number) => process.send!(m, () => (exitCode === undefined ? undefined : process.exit(exitCode)));
  const fail = (err: unknown) => reply({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 1);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  prepare()
    .then((work) => {
      process.on('message', (m: ToChild) => {
        if (m === 'stop') {
          stop();
          return;
        }
        const ticker = setInterval(() => reply({ type: 'progress', units: work.progress() }), 20);
        work
          .run(stopped)
          .then(async (units) => {
            clearInterval(ticker);
            await work.close();
            reply({ type: 'done', units, peakRssMb: process.resourceUsage().maxRSS / 1024, setbacks: work.setbacks() }, 0);
          })
          .catch(fail);
      });
      reply({ type: 'ready' });
    })
    .catch(fail);
}

/** argv[2] of a worker process, as the parent passed it. */
export function childSpec<T>(): T {
  return JSON.parse(process.argv[2]!) as T;
}
