import { InvalidArgumentError, Option, type Command } from 'commander';
import { unwrap } from '@ferry/client';
import { connect, withConnection, type ConnectionOptions } from './connection.js';
import { out, printFields, printJson, printTable } from './output.js';

/** `--events a,b` and repeated `--events a --events b` both collect. */
const collectList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

function parseSchedule(value: string): number[] {
  const seconds = value.split(',').map((s) => Number(s.trim()));
  if (seconds.length === 0 || seconds.some((s) => !Number.isFinite(s) || s < 0)) throw new InvalidArgumentError('seconds between attempts, comma-separated, e.g. 10,60,600');
  return seconds;
}

export function registerEndpoints(program: Command): void {
  const cmd = program.command('endpoints').description('webhook endpoints that receive events: add, list, rotate, rm');

  withConnection(
    cmd
      .command('add')
      .description('register an endpoint; prints its signing secret, shown only this once')
      .argument('<url>', 'where Ferry POSTs the events')
      .requiredOption('--events <types>', 'event types, comma-separated or repeated: export.completed, export.*, dataset.version.published, * ...', collectList)
      .addOption(new Option('--scheme <scheme>', 'how requests are signed').choices(['standard-webhooks', 'secret-header']).default('standard-webhooks'))
      .option('--description <text>', 'a note for people')
      .option('--retry-schedule <seconds>', 'seconds between attempts, e.g. 10,60,600', parseSchedule),
  ).action(
    async (
      url: string,
      opts: ConnectionOptions & { events: string[]; scheme: 'standard-webhooks' | 'secret-header'; description?: string; retrySchedule?: number[] },
      command: Command,
    ) => {
      const client = connect(command, opts);
      const created = unwrap(
        await client.POST('/webhooks/endpoints', {
          body: {
            url,
            events: opts.events,
            scheme: opts.scheme,
            ...(opts.description ? { description: opts.description } : {}),
            ...(opts.retrySchedule ? { retryScheduleSeconds: opts.retrySchedule } : {}),
          },
        }),
      );
      if (opts.json) return printJson(created);
      printFields([
        ['id', created.id],
        ['url', created.url],
        ['events', created.events?.join(', ')],
        ['scheme', created.scheme],
        ['secret', created.secret],
      ]);
      out('The secret is shown only this once: store it where your receiver reads it.');
    },
  );

  withConnection(cmd.command('list').description("the account's endpoints")).action(async (opts: ConnectionOptions, command: Command) => {
    const { data } = unwrap(await connect(command, opts).GET('/webhooks/endpoints'));
    if (opts.json) return printJson({ data });
    printTable(
      ['id', 'url', 'events', 'scheme', 'enabled', 'failing since'],
      data.map((e) => [e.id, e.url, e.events?.join(',') ?? '(export webhook)', e.scheme, e.enabled ? 'yes' : `no${e.disabledReason ? `: ${e.disabledReason}` : ''}`, e.failingSince]),
      'No endpoints.',
    );
  });

  withConnection(
    cmd.command('rotate').description('a new signing secret (the previous one keeps signing too, for 24 hours)').argument('<id>', 'the endpoint'),
  ).action(async (id: string, opts: ConnectionOptions, command: Command) => {
    const rotated = unwrap(await connect(command, opts).POST('/webhooks/endpoints/{id}/rotate-secret', { params: { path: { id } } }));
    if (opts.json) return printJson(rotated);
    printFields([
      ['id', rotated.id],
      ['secret', rotated.secret],
      ['previous secret until', rotated.previousSecretExpiresAt],
    ]);
    out('The new secret is shown only this once.');
  });

  withConnection(cmd.command('rm').description('delete an endpoint (its pending deliveries fail)').argument('<id>', 'the endpoint')).action(
    async (id: string, opts: ConnectionOptions, command: Command) => {
      unwrap(await connect(command, opts).DELETE('/webhooks/endpoints/{id}', { params: { path: { id } } }));
      if (opts.json) return printJson({ id, deleted: true });
      out(`Endpoint ${id} deleted.`);
    },
  );
}
