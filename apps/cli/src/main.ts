#!/usr/bin/env node
import { isFerryError, formatPath } from '@ferry/core';
import { loadConfig } from './config.js';
import { startFerry } from './runtime.js';
import { listen } from './listen.js';

const USAGE = `Usage: ferry <command>

Commands:
  serve [--config F]    Run the API and the workers in one process (default)
  listen [port] [dir]   Run a webhook receiver on 127.0.0.1 (default port 9000) that verifies
                        Ferry's signature with FERRY_API_KEY and, given a dir, downloads each file
  help                  Show this help

Configuration: --config ferry.config.json (or FERRY_CONFIG); the environment overrides it:
FERRY_PORT (8080), FERRY_HOST (127.0.0.1), FERRY_DATA_DIR (./.ferry), FERRY_API_KEY,
FERRY_PUBLIC_URL, FERRY_WEBHOOK_ALLOW_CIDRS, FERRY_LOG_LEVEL (info). See docs/configuration.md.`;

/** `--name value` or `--name=value`. */
function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const arg = args[i]!;
  if (arg.includes('=')) return arg.slice(arg.indexOf('=') + 1);
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

let configOrigin = 'the environment';

async function serve(args: string[]): Promise<void> {
  const { config, apiKey, origin } = await loadConfig({ file: flag(args, 'config') });
  configOrigin = origin;
  const ferry = await startFerry(config, apiKey);
  if (ferry.generatedApiKey) {
    // Printed once, to the terminal only: the store keeps just its hash.
    process.stdout.write(
      `\nNo API key was configured, so Ferry generated one. It is shown only this once:\n\n  ${ferry.generatedApiKey}\n\n` +
        `Set FERRY_API_KEY to choose your own.\n\n`,
    );
  }
  process.stdout.write(`Ferry is listening on ${ferry.url}\n`);
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(1);
    process.stdout.write(`\n${signal}: stopping (finishing or releasing the running export)...\n`);
    ferry.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function receive(args: string[]): Promise<void> {
  const apiKey = process.env.FERRY_API_KEY;
  if (!apiKey) throw new Error('ferry listen verifies signatures with your API key: set FERRY_API_KEY');
  const receiver = await listen({
    port: Number(args[0] ?? 9000),
    host: '127.0.0.1',
    apiKey,
    outDir: args[1],
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`Listening for Ferry webhooks on ${receiver.url}/ (any path)\n`);
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] && !argv[0].startsWith('--') ? argv[0] : 'serve';
  switch (command) {
    case 'serve':
      return serve(argv[0] === 'serve' ? argv.slice(1) : argv);
    case 'listen':
      return receive(argv.slice(1));
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (isFerryError(err)) {
    const where = err.path ? ` (at ${formatPath(err.path)} in ${configOrigin})` : '';
    process.stderr.write(`ferry: ${err.code}: ${err.message}${where}\n`);
  } else {
    process.stderr.write(`ferry: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
