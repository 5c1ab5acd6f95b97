/**
 * Line charts for docs/benchmarks.md: drawn as SVG here, rasterised to PNG by Chromium (through
 * playwright-core, as the dashboard's browser tests run it) so the picture needs no plotting
 * library and no font files of its own.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const W = 560;
const H = 380;
const M = { left: 64, right: 16, top: 36, bottom: 48 };

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');

/** A "nice" upper bound and step for an axis from 0 to `max`. */
function axis(max: number): { top: number; step: number } {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough || 1));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= rough) ?? rough;
  return { top: Math.ceil(max / step) * step || step, step };
}

function chartSvg(chart: Chart, x0: number): string {
  const points = chart.series.flatMap((s) => s.points);
  const xs = axis(Math.max(...points.map((p) => p[0])));
  const ys = axis(Math.max(...points.map((p) => p[1])));
  const px = (x: number) => x0 + M.left + (x / xs.top) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - (y / ys.top) * (H - M.top - M.bottom);
  const parts = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${escape(chart.title)}</text>`];
  for (let y = 0; y <= ys.top + ys.step / 2; y += ys.step) {
    parts.push(`<line x1="${px(0)}" x2="${px(xs.top)}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    parts.push(`<text x="${px(0) - 6}" y="${py(y) + 4}" text-anchor="end">${+y.toFixed(3)}</text>`);
  }
  for (let x = 0; x <= xs.top + xs.step / 2; x += xs.step) {
    parts.push(`<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${+x.toFixed(3)}</text>`);
  }
  parts.push(`<line x1="${px(0)}" x2="${px(xs.top)}" y1="${py(0)}" y2="${py(0)}" stroke="#333"/>`);
  parts.push(`<line x1="${px(0)}" x2="${px(0)}" y1="${py(0)}" y2="${py(ys.top)}" stroke="#333"/>`);
  parts.push(`<text x="${px(xs.top / 2)}" y="${H - 10}" text-anchor="middle">${escape(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(${x0 + 16} ${(H - M.bottom + M.top) / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`);
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const path = s.points.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [x, y] of s.points) parts.push(`<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${color}"/>`);
  });
  return parts.join('\n');
}

/** Charts side by side with one legend of series names below them, as PNG at `file`. */
export async function renderPng(charts: readonly Chart[], file: string, executablePath = '/usr/bin/chromium'): Promise<void> {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing (apt-get install chromium): cannot draw ${file}`);
  const names = [...new Set(charts.flatMap((c) => c.series.map((s) => s.name)))];
  const legendRows = Math.ceil(names.length / 2);
  const width = W * charts.length;
  const height = H + 12 + legendRows * 20;
  const legend = names
    .map((name, i) => {
      const x = 24 + (i % 2) * (width / 2);
      const y = H + 16 + Math.floor(i / 2) * 20;
      return `<rect x="${x}" y="${y - 9}" width="14" height="4" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 20}" y="${y}">${escape(name)}</text>`;
    })
    .join('\n');
  // The same colour for a series in every chart: order each chart's series as the legend does.
  const ordered = charts.map((c) => ({ ...c, series: names.map((n) => c.series.find((s) => s.name === n) ?? { name: n, points: [] }) }));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>${ordered.map((c, i) => chartSvg(c, i * W)).join('\n')}${legend}</svg>`;
  const profile = await mkdtemp(join(tmpdir(), 'ferry-plot-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width, height },
  });
  try {
    const page = await browser.newPage();
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: file });
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}
