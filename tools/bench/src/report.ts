/** Shared printing for benchmarks: a markdown table, so results paste into docs/benchmarks.md. */
export interface Row {
  name: string;
  seconds: number;
  units: number;
  unit: string;
  peakRssMb?: number;
  /** The row the ratio is taken against (the physical limit of this machine). */
  baseline?: boolean;
}

export function table(title: string, rows: Row[], higherIsBetter: 'rate' | 'time' = 'time'): string {
  const base = rows.find((r) => r.baseline);
  const lines = [
    `### ${title}`,
    '',
    `| run | wall s | ${rows[0]?.unit ?? 'units'}/s | peak RSS MB | ratio to limit |`,
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const rate = r.units / r.seconds;
    const ratio = base
      ? higherIsBetter === 'rate'
        ? (rate / (base.units / base.seconds)).toFixed(2)
        : (r.seconds / base.seconds).toFixed(2)
      : '';
    lines.push(
      `| ${r.name.replaceAll('|', '\\|')}${r.baseline ? ' (limit)' : ''} | ${r.seconds.toFixed(2)} | ${Math.round(rate).toLocaleString('en-US')} | ${r.peakRssMb?.toFixed(0) ?? ''} | ${ratio} |`,
    );
  }
  return lines.join('\n');
}

/** The `goal | met?` cells of a row whose figure must stay at or under `goal`. */
export function goalCells(figure: number, goal: number): string {
  return `<= ${goal} | ${figure <= goal ? 'yes' : 'no'}`;
}

/** Peak RSS of this process while `fn` runs, sampled every 20 ms. */
export async function measure<T>(fn: () => Promise<T>): Promise<{ seconds: number; peakRssMb: number; value: T }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const started = performance.now();
  try {
    const value = await fn();
    return { seconds: (performance.now() - started) / 1000, peakRssMb: Math.max(peak, process.memoryUsage.rss()) / 1048576, value };
  } finally {
    clearInterval(timer);
  }
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The first of runs timed one after another, and the median of the rest when there are more: what a process pays once, and its steady state. */
export function firstAndWarm(seconds: readonly number[]): { seconds: number; warmSeconds?: number } {
  return seconds.length > 1 ? { seconds: seconds[0]!, warmSeconds: median(seconds.slice(1)) } : { seconds: seconds[0]! };
}
