import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { nonGlobalReason, type AddressPolicy } from './address-policy.js';
import { stripIpDecorations } from './ip.js';

/** Name -> addresses. Injected in tests; the default asks the system resolver (hosts file included). */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * A target we will not send to. The message is shown to API clients, so it names the rule that
 * was broken but never echoes credentials, paths or query strings, nor the addresses a *name*
 * resolved to (that would turn the API into an oracle for our internal DNS).
 */
export class TargetRefusedError extends Error {
  readonly code = 'FERRY_TARGET_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

/**
 * The name has no addresses. At submit time that is the client's mistake (a refusal); at delivery
 * time it is treated like any network failure, since DNS records come and go.
 */
export class HostNotFoundError extends TargetRefusedError {
  constructor() {
    super('webhook host does not resolve');
    this.name = 'HostNotFoundError';
  }
}

/** A resolver failure that is not the URL's fault (timeouts, SERVFAIL): worth retrying. */
export class ResolveFailedError extends Error {
  constructor(readonly reason: string) {
    super(`could not resolve the webhook host (${reason})`);
    this.name = 'ResolveFailedError';
  }
}

export interface ParsedTarget {
  url: URL;
  protocol: 'http:' | 'https:';
  /** Host without brackets or zone id. */
  host: string;
  /** True when the host is an IP literal (no DNS involved). */
  literal: boolean;
}

/**
 * Everything that can be decided from the URL text alone. The WHATWG parser does the heavy
 * lifting: it canonicalises `2130706433`, `0x7f.1`, `017700000001` and `127.1` to `127.0.0.1`,
 * lower-cases names, punycodes IDNs and rejects IPv6 zone ids, so we only ever judge canonical hosts.
 */
export function parseTarget(raw: string): ParsedTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefusedError('webhook URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TargetRefusedError('webhook URL must use https');
  }
  if (url.username !== '' || url.password !== '') {
    throw new TargetRefusedError('webhook URL must not contain credentials (user:password@)');
  }
  const host = stripIpDecorations(url.hostname);
  if (host === '') throw new TargetRefusedError('webhook URL has no host');
  // A trailing dot is the same name fully qualified; `localhost.` must not slip through.
  const name = host.replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) {
    throw new TargetRefusedError('webhook URL must not point to localhost');
  }
  return { url, protocol: url.protocol, host, literal: isIP(host) !== 0 };
}

/**
 * The address rule shared by submit-time validation and connect-time pinning: every address must
 * be global or explicitly allowed (one bad address refuses the lot, since we cannot control which
 * one a later connection would use), and plain http is only for targets wholly inside allowCidrs.
 */
export function vetAddresses(
  addresses: readonly string[],
  target: { protocol: string; literal: boolean },
  policy: AddressPolicy,
): void {
  if (addresses.length === 0) throw new HostNotFoundError();
  for (const address of addresses) {
    if (policy.permits(address)) continue;
    if (target.literal) {
      const reason = nonGlobalReason(address) ?? 'non-public';
      throw new TargetRefusedError(`webhook URL must not point to a ${reason} address`);
    }
    throw new TargetRefusedError('webhook host must resolve only to public addresses');
  }
  if (target.protocol !== 'https:' && !addresses.every((a) => policy.inAllowedCidrs(a))) {
    throw new TargetRefusedError('webhook URL must use https');
  }
}

/** Resolve a name, mapping "no such host" to a refusal and anything else to a retryable failure. */
export async function resolveHost(resolve: Resolver, host: string): Promise<string[]> {
  try {
    return (await resolve(host)).map(stripIpDecorations);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EAI_NONAME') {
      throw new HostNotFoundError();
    }
    throw new ResolveFailedError(code ?? 'resolver error');
  }
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
