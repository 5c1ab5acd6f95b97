import { lookup, Resolver as DnsResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { nonGlobalReason, type AddressPolicy } from './address-policy.js';
import { stripIpDecorations } from './ip.js';

/** Name -> addresses. Injected in tests; the default asks the system resolver (hosts file included). */
export type Resolver = (hostname: string) => Promise<string[]>;

export interface SystemResolverOptions {
  /**
   * The first question, through getaddrinfo (hosts file, search domains, nsswitch). Default:
   * `dns.lookup` with `all: true`. Replaced in tests to stand in for a resolver that answers EAI_AGAIN.
   */
  lookup?: (hostname: string) => Promise<string[]>;
  /** DNS servers asked to confirm an ambiguous failure (`127.0.0.1:5353` form). Default: the system's. */
  dnsServers?: readonly string[];
  /** Per DNS query of the confirmation. */
  confirmTimeoutMs?: number;
}

const getaddrinfo = async (hostname: string): Promise<string[]> => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The system resolver, with one refinement. getaddrinfo answers EAI_AGAIN ("temporary failure")
 * both when the resolver is down and when a forwarder fails one of the A/AAAA questions for a name
 * that does not exist; only the second is the client's mistake. So for a dotted name, an EAI_AGAIN
 * is checked with a direct DNS query: a definite NXDOMAIN (or a name with no address records) is
 * reported as such, anything else keeps the original, retryable error. Single-label names are left
 * alone: getaddrinfo expands them with the search list, which a direct query would not.
 */
export function createSystemResolver(options: SystemResolverOptions = {}): Resolver {
  const first = options.lookup ?? getaddrinfo;
  const timeout = options.confirmTimeoutMs ?? 2_000;
  return async (hostname) => {
    try {
      return await first(hostname);
    } catch (err) {
      if (errorCode(err) !== 'EAI_AGAIN' || !hostname.includes('.')) throw err;
      const verdict = await confirmAbsent(hostname, options.dnsServers, timeout);
      if (verdict) throw Object.assign(new Error(`DNS ${verdict} ${hostname}`), { code: verdict });
      throw err;
    }
  };
}

/** 'ENOTFOUND' when DNS says the name does not exist, 'ENODATA' when it exists without addresses, else null. */
async function confirmAbsent(hostname: string, servers: readonly string[] | undefined, timeout: number): Promise<'ENOTFOUND' | 'ENODATA' | null> {
  const dns = new DnsResolver({ timeout, tries: 1 });
  if (servers) dns.setServers([...servers]);
  const ask = (query: Promise<unknown>): Promise<string | undefined> => query.then(() => 'answer', (e: unknown) => errorCode(e));
  const [a, aaaa] = await Promise.all([ask(dns.resolve4(hostname)), ask(dns.resolve6(hostname))]);
  // NXDOMAIN is about the name, so one authoritative answer settles it whatever the other type did.
  if (a === 'ENOTFOUND' || aaaa === 'ENOTFOUND') return 'ENOTFOUND';
  if (a === 'ENODATA' && aaaa === 'ENODATA') return 'ENODATA';
  return null;
}

export const systemResolver: Resolver = createSystemResolver();

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
  constructor(host: string, kind: 'no-such-name' | 'no-address') {
    super(
      kind === 'no-such-name'
        ? `webhook host ${JSON.stringify(host)} does not exist (DNS has no such name)`
        : `webhook host ${JSON.stringify(host)} has no IPv4 or IPv6 address`,
    );
    this.name = 'HostNotFoundError';
  }
}

/**
 * Refusals name the setting that opens a non-public range, so nobody has to guess. With the
 * client's own literal we can spell out the entry; for a name we must not say what it resolved to.
 */
export function allowCidrsHint(cidr?: string): string {
  const what = cidr ? `adds ${cidr}` : 'adds its range';
  return `to allow it, the server's operator ${what} to FERRY_WEBHOOK_ALLOW_CIDRS (notifier.options.allowCidrs in a config file)`;
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
  // A trailing dot is the same name fully qualified. Judge and resolve the plain name, so `localhost.`
  // and `host.` meet the same rules and the same hosts-file entries as `localhost` and `host`.
  const host = stripIpDecorations(url.hostname).replace(/\.$/, '');
  if (host === '') throw new TargetRefusedError('webhook URL has no host');
  if (host.startsWith('.') || host.includes('..') || host.endsWith('.')) throw new TargetRefusedError('webhook URL has an empty label in its host name');
  if (host === 'localhost' || host.endsWith('.localhost')) {
    throw new TargetRefusedError(`webhook URL must not point to localhost; use 127.0.0.1 instead; ${allowCidrsHint('127.0.0.1/32')}`);
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
  target: { protocol: string; literal: boolean; host: string },
  policy: AddressPolicy,
): void {
  if (addresses.length === 0) throw new HostNotFoundError(target.host, 'no-address');
  for (const address of addresses) {
    if (policy.permits(address)) continue;
    if (target.literal) {
      const reason = nonGlobalReason(address) ?? 'non-public';
      // By sound, not spelling: "an unspecified" but "a unique-local".
      const article = /^(?!uni)[aeiou]/i.test(reason) ? 'an' : 'a';
      const hint = openable(reason) ? `; ${allowCidrsHint(`${address}/${address.includes(':') ? 128 : 32}`)}` : '';
      throw new TargetRefusedError(`webhook URL must not point to ${article} ${reason} address${hint}`);
    }
    throw new TargetRefusedError(`webhook host must resolve only to public addresses; ${allowCidrsHint()}`);
  }
  if (target.protocol !== 'https:' && !addresses.every((a) => policy.inAllowedCidrs(a))) {
    throw new TargetRefusedError('webhook URL must use https');
  }
}

/**
 * Resolve a name: "no such name" and "no addresses" are refusals (HostNotFoundError), a resolver
 * failure or a resolver that does not answer within `timeoutMs` is a retryable ResolveFailedError.
 */
export async function resolveHost(resolve: Resolver, host: string, timeoutMs?: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const answer = resolve(host);
  const deadline =
    timeoutMs === undefined
      ? answer
      : Promise.race([
          answer,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error('resolver timed out'), { code: 'ETIMEOUT' })), timeoutMs);
          }),
        ]);
  try {
    return (await deadline).map(stripIpDecorations);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOTFOUND' || code === 'EAI_NONAME') throw new HostNotFoundError(host, 'no-such-name');
    if (code === 'ENODATA' || code === 'EAI_NODATA') throw new HostNotFoundError(host, 'no-address');
    throw new ResolveFailedError(code ?? 'resolver error');
  } finally {
    clearTimeout(timer);
    // A resolver that answers after the deadline must not surface as an unhandled rejection.
    answer.catch(() => {});
  }
}

/** Non-public ranges a self-hoster plausibly runs a receiver in; the rest (multicast, documentation ...) are never worth opening. */
function openable(reason: string): boolean {
  return /loopback|private|carrier-grade|unique-local/.test(reason);
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
