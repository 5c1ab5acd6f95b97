import { describe, expect, it } from 'vitest';
import { createAddressPolicy, InvalidCidrError, isGlobalAddress, nonGlobalReason, parseAllowCidrs } from './address-policy.js';
import { formatIp, parseIp } from './ip.js';

describe('isGlobalAddress', () => {
  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '1.1.1.1',
    '172.32.0.1', // just outside 172.16/12
    '100.128.0.1', // just outside 100.64/10
    '2606:4700:4700::1111',
    '2a00:1450:4001:82b::200e',
    '::ffff:8.8.8.8', // mapped forms are judged by the IPv4 inside
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('accepts public %s', (ip) => {
    expect(isGlobalAddress(ip)).toBe(true);
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['192.0.0.8', 'IETF'],
    ['192.88.99.1', '6to4 relay'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'IPv4-mapped link-local'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::a00:1', 'IPv4-compatible private'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 link-local'],
    ['64:ff9b::7f00:1', 'NAT64 loopback'],
    ['2002:a9fe:a9fe::', '6to4 link-local'],
    ['2002:c0a8:101::1', '6to4 private'],
    ['2001::1', 'Teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001:2::1', 'IETF'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'], // AWS IMDS over IPv6
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['100::1', 'discard'],
    ['64:ff9b:1::1', 'not global unicast'],
    ['5f00::1', 'not global unicast'],
    ['4000::1', 'not global unicast'],
  ])('refuses %s (%s)', (ip, why) => {
    expect(isGlobalAddress(ip)).toBe(false);
    expect(nonGlobalReason(ip)).toContain(why);
  });

  it('refuses things that are not IP addresses at all', () => {
    for (const s of ['', 'example.com', '0x7f.1', '2130706433', '010.0.0.1', '1.2.3', '::ffff::1']) {
      expect(isGlobalAddress(s), s).toBe(false);
    }
  });
});

describe('parseIp', () => {
  it('round-trips IPv6 compression and embedded dotted quads', () => {
    expect(formatIp(parseIp('::ffff:127.0.0.1')!)).toBe('0:0:0:0:0:ffff:7f00:1');
    expect(formatIp(parseIp('[2001:db8::8:800:200c:417a]')!)).toBe('2001:db8:0:0:8:800:200c:417a');
    expect(formatIp(parseIp('1::')!)).toBe('1:0:0:0:0:0:0:0');
  });
});

describe('allowCidrs', () => {
  it('matches inside the range only', () => {
    const policy = createAddressPolicy(['127.0.0.1/32', '10.1.0.0/16', 'fd12:3456::/32']);
    expect(policy.inAllowedCidrs('127.0.0.1')).toBe(true);
    expect(policy.inAllowedCidrs('127.0.0.2')).toBe(false);
    expect(policy.inAllowedCidrs('10.1.200.3')).toBe(true);
    expect(policy.inAllowedCidrs('10.2.0.1')).toBe(false);
    expect(policy.inAllowedCidrs('fd12:3456::9')).toBe(true);
    expect(policy.inAllowedCidrs('fd12:3457::9')).toBe(false);
    expect(policy.permits('10.1.0.1')).toBe(true);
    expect(policy.permits('10.2.0.1')).toBe(false);
    expect(policy.permits('8.8.8.8')).toBe(true);
  });

  it('treats IPv4-mapped IPv6 as the IPv4 it is, both ways', () => {
    expect(createAddressPolicy(['127.0.0.1/32']).inAllowedCidrs('::ffff:127.0.0.1')).toBe(true);
    expect(createAddressPolicy(['::ffff:10.0.0.0/104']).inAllowedCidrs('10.9.9.9')).toBe(true);
  });

  it('accepts a bare address as a single host and masks host bits', () => {
    const policy = createAddressPolicy(['192.168.1.7', '10.0.0.9/8']);
    expect(policy.inAllowedCidrs('192.168.1.7')).toBe(true);
    expect(policy.inAllowedCidrs('192.168.1.8')).toBe(false);
    expect(policy.inAllowedCidrs('10.200.0.1')).toBe(true);
  });

  it('masks host bits inside a partial byte, so the range written is the range allowed', () => {
    const policy = createAddressPolicy(['172.31.255.255/12']);
    expect(policy.inAllowedCidrs('172.16.0.1')).toBe(true);
    expect(policy.inAllowedCidrs('172.32.0.1')).toBe(false);
  });

  it('keeps IPv6 ranges to IPv6: allowing every IPv6 address opens no IPv4 one', () => {
    const policy = createAddressPolicy(['::/0']);
    expect(policy.permits('fd00::1')).toBe(true);
    expect(policy.permits('10.0.0.1')).toBe(false);
    expect(policy.inAllowedCidrs('8.8.8.8')).toBe(false);
  });

  it('reads the mapped form of all IPv4 (::ffff:0.0.0.0/96) as all IPv4', () => {
    expect(createAddressPolicy(['::ffff:0.0.0.0/96']).permits('10.0.0.1')).toBe(true);
  });

  it('answers no, without throwing, for something that is not an address', () => {
    const policy = createAddressPolicy(['0.0.0.0/0']);
    expect(policy.inAllowedCidrs('example.com')).toBe(false);
    expect(policy.permits('example.com')).toBe(false);
    expect(nonGlobalReason('example.com')).toBe('not an IP address');
  });

  it('names the bad entry in the error message', () => {
    expect(() => parseAllowCidrs(['10.0.0.0/8', 'nope'])).toThrow(new InvalidCidrError(1, 'nope'));
    expect(new InvalidCidrError(1, 'nope')).toMatchObject({ name: 'InvalidCidrError', message: 'allowCidrs[1] is not a valid CIDR: "nope"' });
  });

  it.each(['10.0.0.0/33', '::/129', 'example.com/24', '10.0.0/8', '10.0.0.0/', '10.0.0.0/8/8', 'fe80::%eth0/64', ''])(
    'rejects malformed %j with its index',
    (bad) => {
      try {
        parseAllowCidrs(['127.0.0.1/32', bad]);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidCidrError);
        expect((err as InvalidCidrError).index).toBe(1);
      }
    },
  );
});
