import { Command, Option } from 'commander';
import { unwrap, type ExportStatus } from '@ferry/client';
import { connect, withConnection, type ConnectionOptions } from './connection.js';
import { formatBytes, note, out, printFields, printJson, printTable } from './output.js';
import { parsePositiveInt } from './query-flags.js';

export function registerExports(program: Command): void {
  const cmd = program.command('exports').description("the account's exports: list, get, cancel");

  withConnection(
    cmd
      .command('list')
      .description('your exports, newest first')
      .addOption(new Option('--state <state>', 'only exports in this state').choices(['queued', 'running', 'completed', 'failed', 'expired']))
      .option('--limit <n>', 'how many (1-100, default 20)', parsePositiveInt)
      .option('--starting-after <queryUUID>', 'the page after this export (the last one of the previous page)'),
  ).action(async (opts: ConnectionOptions & { state?: ExportStatus['state']; limit?: number; startingAfter?: string }, command: Command) => {
    const client = connect(command, opts);
    const page = unwrap(
      await client.GET('/dataset/export', {
        params: { query: { ...(opts.state ? { state: opts.state } : {}), ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.startingAfter ? { starting_after: opts.startingAfter } : {}) } },
      }),
    );
    if (opts.json) return printJson(page);
    printTable(
      ['id', 'name', 'dataset', 'format', 'state', 'rows', 'requested'],
      page.data.map((e) => [e.queryUUID, e.name, e.dataset, e.format, e.state, e.numberRows ?? e.progress.rows, e.requestedOn]),
      'No exports.',
    );
    if (page.hasMore) note(`More: ferry exports list --starting-after ${page.data.at(-1)!.queryUUID}`);
  });

  withConnection(cmd.command('get').description("an export's state, progress, files and webhook deliveries").argument('<queryUUID>')).action(
    async (queryUUID: string, opts: ConnectionOptions, command: Command) => {
      const status = await connect(command, opts).getExport(queryUUID);
      if (opts.json) return printJson(status);
      printStatus(status);
    },
  );

  withConnection(cmd.command('cancel').description('cancel a queued or running export (its partial files are removed)').argument('<queryUUID>')).action(
    async (queryUUID: string, opts: ConnectionOptions, command: Command) => {
      const client = connect(command, opts);
      const status = unwrap(await client.POST('/dataset/export/{queryUUID}/cancel', { params: { path: { queryUUID } } }));
      if (opts.json) return printJson(status);
      out(`Export ${queryUUID} cancelled: ${status.state}${status.error ? ` (${status.error})` : ''}.`);
    },
  );
}

function printStatus(s: ExportStatus): void {
  printFields([
    ['id', s.queryUUID],
    ['name', s.name],
    ['dataset', s.dataset],
    ['format', s.format],
    ['state', s.state],
    ['requested', s.requestedOn],
    ['started', s.startedOn],
    ['completed', s.completedOn],
    ['attempts', s.attempts],
    ['progress', `${s.progress.rows.toLocaleString('en-US')} rows, ${formatBytes(s.progress.bytes)}`],
    ['rows', s.numberRows],
    ['encoded by', s.encodedBy],
    ['error', s.error],
  ]);
  if (s.files.length > 0) {
    out('');
    printTable(
      ['file', 'rows', 'bytes', 'sha256'],
      s.files.map((f) => [f.fileName, f.rows, f.bytes, f.sha256]),
    );
    out('');
    out(s.files.map((f) => `${f.fileName}: ${f.url}`).join('\n'));
    if (s.manifestUrl) out(`manifest: ${s.manifestUrl}`);
  }
  if (s.webhook.deliveries.length > 0) {
    out('');
    printTable(
      ['delivery', 'event', 'state', 'attempts', 'last status', 'last error'],
      s.webhook.deliveries.map((d) => [d.id, d.event, d.state, d.attempts, d.lastStatus, d.lastError]),
    );
  }
}
