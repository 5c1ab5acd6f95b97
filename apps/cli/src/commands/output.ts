import { DownloadError, ExportFailedError, FerryApiError, FerryClientError } from '@ferry/client';

/** Where results go: stdout. Progress and notes go to stderr, so `--json` output can be piped as is. */
export const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};
export const note = (text: string): void => {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
};

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

export type Cell = string | number | boolean | null | undefined;

/** Rows as aligned columns under upper-case headings, the way `docker ps` or `kubectl get` print them. */
export function printTable(headings: readonly string[], rows: readonly (readonly Cell[])[], empty = '(none)'): void {
  if (rows.length === 0) {
    out(empty);
    return;
  }
  const text = rows.map((row) => row.map(cellText));
  const widths = headings.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  out([line(headings.map((h) => h.toUpperCase())), ...text.map(line)].join('\n'));
}

/** One record as `key: value` lines, keys aligned. */
export function printFields(fields: ReadonlyArray<readonly [string, Cell]>): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  out(fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${cellText(v)}`).join('\n'));
}

function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return typeof value === 'number' ? value.toLocaleString('en-US') : String(value);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** `mm:ss`, or `h:mm:ss` past an hour. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/**
 * The one line a failed client call prints: the error's code first (what scripts match on), then
 * the message, then the offending field and the request. Never the API key or the admin token:
 * neither appears in any of these fields.
 */
export function clientErrorLine(err: unknown): string | undefined {
  if (err instanceof FerryApiError) {
    const where = [err.path ? `at ${err.path}` : null, `${err.operation} answered ${err.status}`].filter(Boolean).join('; ');
    const retry = err.retryAfterSeconds !== undefined ? `; retry after ${err.retryAfterSeconds}s` : '';
    return `ferry: ${err.code}: ${err.message} (${where}${retry})`;
  }
  if (err instanceof ExportFailedError || err instanceof DownloadError || err instanceof FerryClientError) return `ferry: ${err.code}: ${err.message}`;
  // fetch's own failure (refused, reset, DNS): its cause says which.
  if (err instanceof TypeError && err.message === 'fetch failed') {
    const cause = err.cause as { code?: string; message?: string; address?: string; port?: number; hostname?: string } | undefined;
    const where = cause?.address ? `${cause.address}:${cause.port}` : (cause?.hostname ?? 'the server');
    return `ferry: UNREACHABLE: cannot reach Ferry at ${where} (${cause?.code ?? cause?.message ?? 'connection failed'}); check --url or FERRY_URL`;
  }
  return undefined;
}
