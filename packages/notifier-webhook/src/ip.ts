import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses as bytes, so range checks are exact prefix comparisons rather than string games.
 * Input must be a canonical-ish address as produced by DNS or the WHATWG URL parser; spellings
 * like `0x7f.1` are the URL parser's job, not ours (we reject anything `net.isIP` rejects).
 */
export interface IpAddress {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

export interface Cidr {
  family: 4 | 6;
  /** Network bytes with the host bits cleared. */
  bytes: Uint8Array;
  prefix: number;
}

/** Remove `[...]` brackets and an IPv6 zone id (`%eth0`, `%25eth0`): neither changes which host is meant. */
export function stripIpDecorations(text: string): string {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1 && s.includes(':')) s = s.slice(0, zone);
  return s;
}

export function parseIp(text: string): IpAddress | null {
  const s = stripIpDecorations(text);
  if (isIPv4(s)) return { family: 4, bytes: Uint8Array.from(s.split('.').map(Number)) };
  if (isIPv6(s)) return { family: 6, bytes: parseIPv6(s) };
  return null;
}

/** Only called on strings `net.isIPv6` accepted, so the grammar is already validated. */
function parseIPv6(s: string): Uint8Array {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        // Trailing dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
        const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = s.indexOf('::');
  let words: number[];
  if (gap === -1) {
    words = groups(s);
  } else {
    const head = groups(s.slice(0, gap));
    const tail = groups(s.slice(gap + 2));
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push((((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0)).toString(16));
  return words.join(':');
}

/** `10.0.0.0/8`, `fd00::/8`; a bare address means a single host (/32 or /128). Null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  // A zone id has no meaning in a network range; refuse rather than silently drop it.
  if (addrText.includes('%')) return null;
  const ip = parseIp(addrText);
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return cidrOf(ip, prefix);
}

export function cidrOf(ip: IpAddress, prefix: number): Cidr {
  const bytes = new Uint8Array(ip.bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = (ip.bytes[i] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
  return { family: ip.family, bytes, prefix };
}

export function inCidr(ip: IpAddress, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== (cidr.bytes[i] ?? 0)) return false;
  }
  return true;
}

/** Shorthand for writing the policy tables: `cidr('10.0.0.0/8')`. Throws on a typo in our own tables. */
export function cidr(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new Error(`bad built-in CIDR ${text}`);
  return c;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else null. */
export function unmapIPv4(ip: IpAddress): IpAddress | null {
  if (ip.family !== 6 || !inCidr(ip, MAPPED)) return null;
  return { family: 4, bytes: ip.bytes.slice(12, 16) };
}

const MAPPED = cidr('::ffff:0:0/96');
