import { Command, Option } from 'commander';
import { createFerryClient, type FerryClient } from '@ferry/client';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ConnectionOptions {
  url: string;
  apiKey?: string;
  adminToken?: string;
  json?: boolean;
}

/**
 * The options every client command takes: where Ferry listens and the credentials, each also read
 * from the environment (commander's `.env()`), and `--json`. The secrets have no default and are
 * never echoed in help; prefer the variables, which stay out of `ps` and shell history.
 */
export function withConnection(cmd: Command, needs: { apiKey?: boolean; adminToken?: boolean } = { apiKey: true }): Command {
  cmd.addOption(new Option('--url <url>', "Ferry's API").env('FERRY_URL').default(DEFAULT_URL));
  if (needs.apiKey !== false) cmd.addOption(new Option('--api-key <key>', "the account's API key (sent as x-api-key)").env('FERRY_API_KEY'));
  if (needs.adminToken) cmd.addOption(new Option('--admin-token <token>', "the operator's token (sent as Authorization: Bearer)").env('FERRY_ADMIN_TOKEN'));
  cmd.option('--json', 'print the result as JSON');
  return cmd;
}

/** A client for the command's options; a missing credential is a usage error (exit 2). */
export function connect(cmd: Command, opts: ConnectionOptions, needs: { apiKey?: boolean; adminToken?: boolean } = { apiKey: true }): FerryClient {
  if (needs.apiKey !== false && !opts.apiKey) usageError(cmd, 'no API key: pass --api-key or set FERRY_API_KEY');
  if (needs.adminToken && !opts.adminToken) usageError(cmd, 'this needs the admin token: pass --admin-token or set FERRY_ADMIN_TOKEN');
  let baseUrl: URL;
  try {
    baseUrl = new URL(opts.url);
  } catch {
    usageError(cmd, `--url ${JSON.stringify(opts.url)} is not a URL (e.g. ${DEFAULT_URL})`);
  }
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') usageError(cmd, `--url must be an http:// or https:// URL, not ${baseUrl.protocol}`);
  return createFerryClient({
    baseUrl: opts.url,
    ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
    ...(opts.adminToken ? { adminToken: opts.adminToken } : {}),
    headers: { 'user-agent': 'ferry-cli' },
  });
}

/** Print `error: <message>` and the help hint, then exit 2 (commander's own path for usage errors). */
export function usageError(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: 2, code: 'ferry.usage' });
}
