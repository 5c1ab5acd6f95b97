import { InvalidArgumentError, Option, type Command } from 'commander';
import { unwrap } from '@ferry/client';
import { connect, withConnection, type ConnectionOptions } from './connection.js';
import { note, out, printJson, printTable } from './output.js';
import { parsePositiveInt } from './query-flags.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO 8601 time, or a duration back from now: `90m`, `2h`, `7d`. */
export function parseSince(value: string, now = Date.now()): string {
  const ago = /^(\d+)([smhd])$/.exec(value.trim());
  if (ago) return new Date(now - Number(ago[1]) * UNITS[ago[2]!]!).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw new InvalidArgumentError('an ISO time (2025-03-01T12:00:00Z) or a duration back from now (30m, 2h, 7d)');
  return new Date(at).toISOString();
}

type State = 'pending' | 'succeeded' | 'failed';

export function registerDeliveries(program: Command): void {
  const cmd = program.command('deliveries').description('the webhook delivery log: list, redeliver, recover');

  withConnection(
    cmd
      .command('list')
      .description('deliveries, oldest first')
      .addOption(new Option('--status <state>', 'only deliveries in this state').choices(['pending', 'succeeded', 'failed']))
      .option('--endpoint <id>', 'only deliveries to this endpoint')
      .option('--since <time>', 'created at or after: an ISO time or a duration back from now (2h, 7d)', (v) => parseSince(v))
      .option('--limit <n>', 'how many (1-1000, default 100)', parsePositiveInt)
      .option('--starting-after <id>', 'the page after this delivery'),
  ).action(async (opts: ConnectionOptions & { status?: State; endpoint?: string; since?: string; limit?: number; startingAfter?: string }, command: Command) => {
    const query = {
      ...(opts.status ? { status: opts.status } : {}),
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.since ? { since: opts.since } : {}),
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.startingAfter ? { starting_after: opts.startingAfter } : {}),
    };
    const page = unwrap(await connect(command, opts).GET('/webhooks/deliveries', { params: { query } }));
    if (opts.json) return printJson(page);
    printTable(
      ['id', 'event', 'state', 'attempts', 'last status', 'endpoint', 'created', 'last error'],
      page.data.map((d) => [d.id, d.event, d.state, d.attempts, d.lastStatus, d.endpointId, d.createdAt, d.lastError]),
      'No deliveries.',
    );
    if (page.hasMore) note(`More: ferry deliveries list --starting-after ${page.data.at(-1)!.id}`);
  });

  withConnection(
    cmd.command('redeliver').description('send a delivery again (same webhook-id), from the start of its retry schedule').argument('<id>', 'the delivery'),
  ).action(async (id: string, opts: ConnectionOptions, command: Command) => {
    const delivery = unwrap(await connect(command, opts).POST('/webhooks/deliveries/{id}/redeliver', { params: { path: { id } } }));
    if (opts.json) return printJson(delivery);
    out(`Delivery ${delivery.id} (${delivery.event}) queued again: ${delivery.state}.`);
  });

  withConnection(
    cmd
      .command('recover')
      .description('redeliver every failed delivery since a time')
      .requiredOption('--since <time>', 'an ISO time or a duration back from now (2h, 7d)', (v) => parseSince(v)),
  ).action(async (opts: ConnectionOptions & { since: string }, command: Command) => {
    const result = unwrap(await connect(command, opts).POST('/webhooks/deliveries/recover', { body: { since: opts.since } }));
    if (opts.json) return printJson(result);
    out(`${result.recovered} failed deliveries since ${opts.since} queued again.`);
  });
}
