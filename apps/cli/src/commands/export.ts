import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { ExportRequest, ExportStatus, FerryClient } from '@ferry/client';
import { connect, usageError, withConnection, type ConnectionOptions } from './connection.js';
import { formatBytes, out, note, printJson } from './output.js';
import { exportProgress } from './progress.js';
import { parseFilter, parseOrder, parsePositiveInt, parseScope, readQueryFile } from './query-flags.js';
import { untilInterrupted } from './interrupt.js';

interface ExportOptions extends ConnectionOptions {
  query?: string;
  from?: string;
  scope?: ExportRequest['dataset']['scopes'];
  filter?: NonNullable<ExportRequest['dataset']['filters']>;
  orderBy?: NonNullable<ExportRequest['dataset']['orderBy']>;
  limit?: number;
  format?: string;
  compression?: ExportRequest['compression'];
  name?: string;
  webhookUrl?: string;
  webhookScheme?: ExportRequest['webhookScheme'];
  maxFileRows?: number;
  notifyOnFailure?: boolean;
  wait?: boolean;
  out?: string;
  pollInterval: number;
}

export function registerExport(program: Command): void {
  const cmd = program
    .command('export')
    .description('submit an export; with --wait follow it to the end, with --out also download its files')
    .option('--query <file>', 'the dataset query as JSON ({"from", "scopes", "filters", ...}, or a whole POST /dataset/export body); - reads stdin')
    .option('--from <dataset>', 'the catalog dataset (default: the default dataset)')
    .option('--scope <column[:agg][@granularity][=alias]>', 'an output column, repeatable, in order (e.g. msa, asking_rent:avg, as_of_week@month)', parseScope)
    .option('--filter <"column op value">', 'a condition, repeatable, all must hold (e.g. "bed in [1,2]", "msa = Seattle, WA", "asking_rent >= 2000")', parseFilter)
    .option('--order-by <column[:desc]>', 'sort by this output, repeatable', parseOrder)
    .option('--limit <rows>', 'at most this many rows', parsePositiveInt)
    .option('--format <format>', 'csv, jsonl, parquet, arrow, or another format this install offers (default csv)')
    .addOption(new Option('--compression <compression>', 'gzip, zstd or none (default: what the format takes)').choices(['gzip', 'zstd', 'none']))
    .option('--name <name>', 'a name for the export (default: the dataset and the time)')
    .addOption(new Option('--webhook-url <url>', 'where Ferry POSTs the completion webhook (the API requires one)').env('FERRY_WEBHOOK_URL'))
    .addOption(new Option('--webhook-scheme <scheme>', 'how the webhook is signed').choices(['ferry-hmac', 'secret-header', 'standard-webhooks']))
    .option('--max-file-rows <rows>', 'split the output into parts of at most this many rows', parsePositiveInt)
    .option('--notify-on-failure', 'also call the webhook URL if the export fails')
    .option('--wait', 'follow the export until it completes or fails, showing its progress')
    .option('--out <dir>', 'download the file(s) into this folder, checked against their SHA-256 (implies --wait)')
    .addOption(new Option('--poll-interval <ms>', 'how often --wait asks for the status').default(1000).argParser(parsePositiveInt))
    .addHelpText(
      'after',
      `
Exit codes: 0 submitted (or, with --wait/--out, completed and downloaded), 1 the export failed or
the API answered an error (one line: the code, the message and the offending field), 2 usage.

Examples:
  ferry export --from rentals --scope msa --scope asking_rent:avg --filter "bed in [1,2]" \\
    --webhook-url https://hooks.example.com/ferry --out ./downloads
  ferry export --query query.json --format parquet --name weekly --wait --json`,
    );
  withConnection(cmd).action(async (opts: ExportOptions, command: Command) => {
    const request = await buildRequest(command, opts);
    const client = connect(command, opts);
    await runExport(client, request, opts);
  });
}

async function buildRequest(cmd: Command, opts: ExportOptions): Promise<ExportRequest> {
  const fromFile = opts.query
    ? await readQueryFile(opts.query).catch((err: unknown) => (err instanceof InvalidArgumentError ? usageError(cmd, err.message) : Promise.reject(err)))
    : undefined;
  const dataset = { ...(fromFile?.dataset ?? { scopes: [] }) } as ExportRequest['dataset'];
  if (opts.from) dataset.from = opts.from;
  if (opts.scope) dataset.scopes = opts.scope;
  if (opts.filter) dataset.filters = [...(dataset.filters ?? []), ...opts.filter];
  if (opts.orderBy) dataset.orderBy = opts.orderBy;
  if (opts.limit !== undefined) dataset.limit = opts.limit;
  if (!dataset.scopes || dataset.scopes.length === 0) usageError(cmd, 'no outputs: give --scope (repeatable) or --query FILE');

  const rest = fromFile?.rest ?? {};
  const webhookURL = opts.webhookUrl ?? rest.webhookURL;
  if (!webhookURL) {
    // POST /dataset/export requires webhookURL (seed 001): every export calls one when it completes.
    usageError(
      cmd,
      'the API requires a webhook URL for every export: pass --webhook-url URL or set FERRY_WEBHOOK_URL ' +
        '(any receiver that answers 2xx; `ferry listen` is one)',
    );
  }
  return {
    ...rest,
    dataset,
    webhookURL,
    name: opts.name ?? rest.name ?? `${dataset.from ?? 'export'} ${new Date().toISOString()}`,
    format: opts.format ?? rest.format ?? 'csv',
    ...(opts.compression ? { compression: opts.compression } : {}),
    ...(opts.webhookScheme ? { webhookScheme: opts.webhookScheme } : {}),
    ...(opts.maxFileRows ? { maxFileRows: opts.maxFileRows } : {}),
    ...(opts.notifyOnFailure ? { notifyOnFailure: true } : {}),
  };
}

async function runExport(client: FerryClient, request: ExportRequest, opts: ExportOptions): Promise<void> {
  const submitted = await client.submitExport(request);
  const { queryUUID, webhookSecret } = submitted;
  const follow = opts.wait === true || opts.out !== undefined;
  if (!opts.json) {
    out(`Export ${queryUUID} submitted (${request.name}).`);
    if (webhookSecret) out(`Webhook secret (shown only this once, keep it): ${webhookSecret}`);
  }
  if (!follow) {
    if (opts.json) printJson(submitted);
    else out(`Follow it with: ferry exports get ${queryUUID}`);
    return;
  }

  const progress = exportProgress({ label: `export ${queryUUID.slice(0, 8)}`, ...(request.dataset.limit ? { totalRows: request.dataset.limit } : {}) });
  let status: ExportStatus;
  try {
    status = await untilInterrupted(
      (signal) => client.waitForExport(queryUUID, { signal, intervalMs: opts.pollInterval, onProgress: (p) => progress.update(p) }),
      `stopped waiting; the export goes on: ferry exports get ${queryUUID}`,
    );
  } finally {
    progress.stop();
  }

  const downloaded = opts.out
    ? await untilInterrupted((signal) => client.downloadExport(queryUUID, { dir: resolve(opts.out!), signal }), 'download stopped; nothing unverified was kept')
    : [];
  if (opts.json) {
    printJson({ ...submitted, status, ...(opts.out ? { downloaded } : {}) });
    return;
  }
  out(`Export ${queryUUID} completed: ${(status.numberRows ?? 0).toLocaleString('en-US')} rows in ${status.files.length} file(s), ${formatBytes(status.files.reduce((n, f) => n + f.bytes, 0))}.`);
  if (downloaded.length > 0) {
    out(downloaded.map((p) => `Downloaded ${p}`).join('\n'));
  } else {
    note(`Its download links: ferry exports get ${queryUUID} (or pass --out DIR to download and check the files)`);
  }
}
