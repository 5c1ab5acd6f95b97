import { cidr, cidrOf, inCidr, parseCidr, parseIp, unmapIPv4, type Cidr, type IpAddress } from './ip.js';

/**
 * Which addresses a webhook may reach. The rule is "globally routable unicast only": anything that
 * could land inside our own network (loopback, RFC 1918, link-local and cloud metadata, CGNAT,
 * ULA ...) or is not a real host (multicast, reserved, documentation, benchmarking) is refused.
 * Self-hosters open holes explicitly with `allowCidrs`.
 */

interface Range {
  cidr: Cidr;
  reason: string;
}

const range = (text: string, reason: string): Range => ({ cidr: cidr(text), reason });

const NON_GLOBAL_V4: readonly Range[] = [
  range('0.0.0.0/8', 'unspecified ("this network")'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'carrier-grade NAT'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local (cloud metadata)'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'IETF protocol assignments'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', '6to4 relay anycast'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'benchmarking'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  // Includes the limited broadcast address 255.255.255.255.
  range('240.0.0.0/4', 'reserved or broadcast'),
];

/** Checked after the IPv4-embedding forms, before the 2000::/3 rule, so reasons are specific. */
const NON_GLOBAL_V6: readonly Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('100::/64', 'discard-only'),
  // Teredo tunnels to an address we cannot vet; the rest of 2001::/23 is protocol plumbing
  // (benchmarking 2001:2::/48, ORCHID ...), never a webhook receiver.
  range('2001::/32', 'Teredo'),
  range('2001::/23', 'IETF protocol assignments'),
  range('2001:db8::/32', 'documentation'),
  range('3fff::/20', 'documentation'),
  range('fc00::/7', 'unique-local'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local'),
  range('ff00::/8', 'multicast'),
];

const GLOBAL_UNICAST_V6 = cidr('2000::/3');

/** IPv6 forms that carry an IPv4 address which is what the packet really reaches. */
const EMBEDDED_V4: ReadonlyArray<{ cidr: Cidr; offset: number; name: string }> = [
  { cidr: cidr('::ffff:0:0/96'), offset: 12, name: 'IPv4-mapped' },
  { cidr: cidr('64:ff9b::/96'), offset: 12, name: 'NAT64' },
  { cidr: cidr('2002::/16'), offset: 2, name: '6to4' },
  // IPv4-compatible (deprecated) ::a.b.c.d; :: and ::1 fall in here too and are judged as 0.0.0.0/0.0.0.1.
  { cidr: cidr('::/96'), offset: 12, name: 'IPv4-compatible' },
];

/**
 * Why an address is not a valid public target, or null when it is globally routable.
 * Not-an-IP strings are refused too: the caller asked about something we cannot vouch for.
 */
export function nonGlobalReason(address: string | IpAddress): string | null {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  if (!ip) return 'not an IP address';
  if (ip.family === 4) return NON_GLOBAL_V4.find((r) => inCidr(ip, r.cidr))?.reason ?? null;

  // Loopback/unspecified first so ::1 reads as "loopback", not "IPv4-compatible 0.0.0.1".
  const special = NON_GLOBAL_V6.slice(0, 2).find((r) => inCidr(ip, r.cidr));
  if (special) return special.reason;
  for (const form of EMBEDDED_V4) {
    if (inCidr(ip, form.cidr)) {
      const inner = nonGlobalReason({ family: 4, bytes: ip.bytes.slice(form.offset, form.offset + 4) });
      return inner === null ? null : `${form.name} ${inner}`;
    }
  }
  const listed = NON_GLOBAL_V6.find((r) => inCidr(ip, r.cidr));
  if (listed) return listed.reason;
  if (!inCidr(ip, GLOBAL_UNICAST_V6)) return 'not global unicast';
  return null;
}

export function isGlobalAddress(address: string): boolean {
  return nonGlobalReason(address) === null;
}

export interface AddressPolicy {
  /** Inside one of the operator's `allowCidrs` (IPv4-mapped IPv6 is compared as its IPv4). */
  inAllowedCidrs(address: string): boolean;
  /** Global, or explicitly allowed. */
  permits(address: string): boolean;
}

export class InvalidCidrError extends Error {
  constructor(readonly index: number, value: string) {
    super(`allowCidrs[${index}] is not a valid CIDR: ${JSON.stringify(value)}`);
    this.name = 'InvalidCidrError';
  }
}

/** Parse the operator's CIDR list; throws InvalidCidrError pointing at the first bad entry. */
export function parseAllowCidrs(list: readonly string[]): Cidr[] {
  return list.map((text, i) => {
    const c = parseCidr(text);
    if (!c) throw new InvalidCidrError(i, text);
    return normalizeCidr(c);
  });
}

/** `::ffff:127.0.0.0/104` and `127.0.0.0/8` name the same hosts; keep one form so matching is simple. */
function normalizeCidr(c: Cidr): Cidr {
  const inner = c.prefix >= 96 ? unmapIPv4({ family: 6, bytes: c.bytes }) : null;
  return inner ? cidrOf(inner, c.prefix - 96) : c;
}

function normalizeIp(ip: IpAddress): IpAddress {
  return unmapIPv4(ip) ?? ip;
}

export function createAddressPolicy(allowCidrs: readonly string[] = []): AddressPolicy {
  const allowed = parseAllowCidrs(allowCidrs);
  const inAllowedCidrs = (address: string): boolean => {
    const ip = parseIp(address);
    if (!ip) return false;
    const n = normalizeIp(ip);
    return allowed.some((c) => inCidr(n, c));
  };
  return {
    inAllowedCidrs,
    permits: (address) => inAllowedCidrs(address) || isGlobalAddress(address),
  };
}
