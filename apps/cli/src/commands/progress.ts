import cliProgress from 'cli-progress';
import type { ExportProgress } from '@ferry/client';
import { formatBytes, formatElapsed } from './output.js';

export interface ProgressReporter {
  update(progress: ExportProgress): void;
  /** Leave the last state on screen and release the terminal. */
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  /** The row count to expect (the query's limit), for a proportional bar; unknown otherwise. */
  totalRows?: number;
  /** Where to draw: stderr, so stdout keeps only results. */
  stream?: NodeJS.WriteStream;
  /** The clock for the rate (tests). */
  now?: () => number;
}

/** A redrawn bar on a terminal; on anything else (a pipe, a log file, CI) one plain line per change. */
export function exportProgress(options: ProgressOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  return stream.isTTY ? new BarProgress(options, stream) : new LineProgress(options, stream);
}

function figures(progress: ExportProgress, elapsedMs: number) {
  const seconds = elapsedMs / 1000;
  return {
    state: progress.state,
    rows: `${progress.rows.toLocaleString('en-US')} rows`,
    bytes: formatBytes(progress.bytes),
    rate: seconds > 0 ? `${Math.round(progress.rows / seconds).toLocaleString('en-US')} rows/s, ${formatBytes(progress.bytes / seconds)}/s` : '- rows/s',
    elapsed: formatElapsed(elapsedMs),
  };
}

class LineProgress implements ProgressReporter {
  readonly #started: number;
  readonly #now: () => number;
  constructor(
    private readonly options: ProgressOptions,
    private readonly stream: NodeJS.WriteStream,
  ) {
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
  }

  update(progress: ExportProgress): void {
    const f = figures(progress, this.#now() - this.#started);
    this.stream.write(`${this.options.label}: ${f.state}, ${f.rows}, ${f.bytes}, ${f.rate}, ${f.elapsed} elapsed\n`);
  }

  stop(): void {}
}

/**
 * cli-progress redraws the line itself (at most 10 times a second); its `{duration_formatted}`
 * keeps the elapsed time moving between polls. Without a known total the bar is left out rather
 * than shown at a made-up fraction.
 */
class BarProgress implements ProgressReporter {
  readonly #bar: cliProgress.SingleBar;
  readonly #now: () => number;
  readonly #started: number;
  #running = false;

  constructor(
    private readonly options: ProgressOptions,
    stream: NodeJS.WriteStream,
  ) {
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
    const bar = options.totalRows ? '[{bar}] {percentage}% ' : '';
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} {state} ${bar}| {rows} | {bytes} | {rate} | {duration_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        fps: 10,
        barsize: 24,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(progress: ExportProgress): void {
    const payload = figures(progress, this.#now() - this.#started);
    const total = this.options.totalRows ?? Math.max(progress.rows, 1);
    const value = progress.state === 'completed' ? total : Math.min(progress.rows, total);
    if (!this.#running) {
      this.#bar.start(total, value, payload);
      this.#running = true;
    } else {
      this.#bar.update(value, payload);
    }
  }

  stop(): void {
    if (this.#running) this.#bar.stop();
    this.#running = false;
  }
}
