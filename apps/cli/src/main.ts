#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isFerryError, formatPath, type FieldPath } from '@ferry/core';
import { loadConfig } from './config.js';
// The roles load the server, the workers and every plugin; the client commands need none of it,
// so those modules load only when a role runs (`ferry exports list` starts in a fraction of the time).
import type { Role } from './runtime.js';
import { listen } from './listen.js';
import { clientErrorLine, registerClientCommands } from './commands/index.js';

const ENVIRONMENT = `Configuration: --config ferry.config.json (or FERRY_CONFIG); the environment overrides it:
FERRY_PORT (8080), FERRY_HOST (127.0.0.1), FERRY_DATA_DIR (./.ferry), FERRY_API_KEY,
FERRY_DATABASE_URL (a postgres:// URL: the PostgreSQL job store), FERRY_PUBLIC_URL,
FERRY_WEBHOOK_ALLOW_CIDRS, FERRY_ADMIN_TOKEN (turns the admin API on), FERRY_SECRET_KEY or
FERRY_SECRET_KEY_FILE (download-link keys, newest first), FERRY_LOG_LEVEL (info). See docs/configuration.md and docs/deployment.md.`;

/** Where each config value came from, once the config is loaded: errors then name the file or the variable. */
let originOf: (path: FieldPath) => string = () => 'the configuration';

async function runRole(role: Role, options: { config?: string }): Promise<void> {
  const { config, apiKey, adminToken, secretKeys, originOf: origins } = await loadConfig({ file: options.config });
  originOf = origins;
  const { startFerry } = await import('./runtime.js');
  const ferry = await startFerry(config, apiKey, { role, ...(adminToken ? { adminToken } : {}), ...(secretKeys ? { secretKeys } : {}) });
  if (ferry.generatedApiKey) {
    // Printed once, to the terminal only: the store keeps just its hash.
    process.stdout.write(
      `\nNo API key was configured, so Ferry generated one. It is shown only this once:\n\n  ${ferry.generatedApiKey}\n\n` +
        `Set FERRY_API_KEY to choose your own.\n\n`,
    );
  }
  process.stdout.write(
    ferry.url
      ? `Ferry (${role}) is listening on ${ferry.url}\n`
      : `Ferry (${role}) is running on the ${ferry.jobs.name} job store; health and metrics on ${ferry.operationsUrl}\n`,
  );
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(1);
    process.stdout.write(`\n${signal}: stopping (finishing or releasing running exports)...\n`);
    ferry.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`ferry: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return port;
}

function program(): Command {
  const cli = new Command('ferry')
    .description('Ferry: an asynchronous dataset export engine')
    .addHelpText('after', `\n${ENVIRONMENT}`)
    .showHelpAfterError('(run "ferry help" for usage)')
    .exitOverride();
  const config = (cmd: Command) => cmd.option('-c, --config <file>', 'config file (default FERRY_CONFIG, else embedded defaults)');
  config(cli.command('serve').description('run the API and the workers in one process (what npm start runs)')).action((o) => runRole('serve', o));
  config(cli.command('api').description('run the HTTP API only; it never claims work')).action((o) => runRole('api', o));
  config(cli.command('worker').description('run exports, deliveries, schedules and retention; no HTTP')).action((o) => runRole('worker', o));
  config(cli.command('migrate').description('apply the job store migrations and exit')).action(async (o: { config?: string }) => {
    const { config: loaded, originOf: origins } = await loadConfig({ file: o.config });
    originOf = origins;
    const { migrate } = await import('./migrate.js');
    const { store, from, to } = await migrate(loaded);
    process.stdout.write(from === to ? `${store}: schema is up to date (version ${to})\n` : `${store}: migrated from version ${from} to ${to}\n`);
  });
  cli
    .command('listen')
    .description("run a webhook receiver on 127.0.0.1 that verifies Ferry's signature with FERRY_API_KEY and, given a dir, downloads each file")
    .argument('[port]', 'port to listen on (default 9000)', parsePort, 9000)
    .argument('[dir]', 'download files into this folder')
    .action(async (port: number, dir: string | undefined) => {
      const receiver = await listen({ port, host: '127.0.0.1', apiKey: process.env.FERRY_API_KEY, outDir: dir, log: (line) => process.stdout.write(`${line}\n`) });
      process.stdout.write(`Listening for Ferry webhooks on ${receiver.url}/ (any path)\n`);
    });
  registerClientCommands(cli);
  return cli;
}

async function main(argv: string[]): Promise<void> {
  const cli = program();
  if (argv.length === 0) {
    process.stdout.write(cli.helpInformation());
    return;
  }
  try {
    await cli.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; every other parser complaint is a usage error.
      process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2);
    }
    throw err;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const clientError = clientErrorLine(err);
  if (clientError) {
    process.stderr.write(`${clientError}\n`);
  } else if (isFerryError(err)) {
    // Config errors already say where they came from; others get the origin of their path here.
    const located = err.path ? ` (at ${formatPath(err.path)} in ` : '';
    const where = err.path && !err.message.includes(located) ? `${located}${originOf(err.path)})` : '';
    process.stderr.write(`ferry: ${err.code}: ${err.message}${where}\n`);
  } else {
    process.stderr.write(`ferry: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
