import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TS_CHILD_NODE_ARGS, waitFor } from '@ferry/testing/support';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface FerryProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `ferry <command> ...` as a real process, the way an operator runs it: from the workspace's
 * sources, or from a built `bin` (an installed package's `dist/main.js`) run in `cwd`.
 */
export function spawnFerry(args: string[], env: Record<string, string> = {}, opts: { bin?: string; cwd?: string } = {}): FerryProcess {
  const command = opts.bin ? [opts.bin] : [...TS_CHILD_NODE_ARGS, MAIN];
  const child = spawn(process.execPath, [...command, ...args], {
    env: { ...process.env, FERRY_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Wait until a serving process prints its URL. */
export async function listeningUrl(p: FerryProcess, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    'ferry to listen',
    () => {
      if (p.child.exitCode !== null) throw new Error(`ferry exited with ${p.child.exitCode}: ${p.output()}`);
      return /listening on (http:\/\/\S+)/.exec(p.output())?.[1];
    },
    timeoutMs,
  );
}

/** Wait until a worker process says it is running. */
export async function workerStarted(p: FerryProcess, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'the worker to start',
    () => {
      if (p.child.exitCode !== null) throw new Error(`ferry exited with ${p.child.exitCode}: ${p.output()}`);
      return /is running on the/.test(p.output()) ? true : undefined;
    },
    timeoutMs,
  );
}
