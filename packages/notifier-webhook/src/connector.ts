import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { AddressPolicy } from './address-policy.js';
import { parseIp, stripIpDecorations } from './ip.js';
import { resolveHost, vetAddresses, type Resolver } from './target.js';

/** The low-level dial: undici's connector signature. It only ever receives a vetted IP as `hostname`. */
export type Dialer = buildConnector.connector;
type DialOptions = buildConnector.Options;

export class ConnectTimeoutError extends Error {
  readonly code = 'FERRY_CONNECT_TIMEOUT';
  constructor(ms: number) {
    super(`connect timed out after ${ms} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

/**
 * An undici connector that resolves the host itself, vets every address with the policy, and
 * dials the vetted IP directly (TLS still verifies and sends SNI for the original name, which
 * undici derives from `host`). Because the socket is opened to the address we checked, a DNS
 * answer that changes between submit-time validation and now (rebinding) cannot reach an
 * internal address: the fresh answer is what gets checked and what gets dialled.
 *
 * The connect timeout covers resolution plus TCP/TLS setup, whatever dialer is plugged in.
 */
export function createGuardedConnector(opts: {
  policy: AddressPolicy;
  resolve: Resolver;
  connectTimeoutMs: number;
  dial?: Dialer;
}): Dialer {
  const dial = opts.dial ?? buildConnector({ timeout: opts.connectTimeoutMs });
  return (options: DialOptions, callback) => {
    let settled = false;
    let lateSocket: Socket | null = null;
    const finish: buildConnector.Callback = (...args) => {
      if (settled) {
        // Timed out already: a socket that shows up now must not leak.
        if (args[1]) args[1].destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      callback(...args);
    };
    const timer = setTimeout(() => {
      lateSocket?.destroy();
      finish(new ConnectTimeoutError(opts.connectTimeoutMs), null);
    }, opts.connectTimeoutMs);

    void pickAddress(options, opts.policy, opts.resolve).then(
      (address) => {
        if (settled) return;
        const ret: unknown = dial({ ...options, hostname: address }, finish);
        if (isSocket(ret)) lateSocket = ret;
      },
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
}

async function pickAddress(options: DialOptions, policy: AddressPolicy, resolve: Resolver): Promise<string> {
  // undici passes the URL's host as written; `host.` is resolved as `host`, as validation did.
  const host = stripIpDecorations(options.hostname).replace(/\.$/, '');
  const literal = parseIp(host) !== null;
  const addresses = literal ? [host] : await resolveHost(resolve, host);
  vetAddresses(addresses, { protocol: options.protocol, literal, host }, policy);
  // Every address passed, so any would do; take the resolver's first preference.
  return addresses[0]!;
}

function isSocket(value: unknown): value is Socket {
  return typeof value === 'object' && value !== null && typeof (value as Socket).destroy === 'function';
}
