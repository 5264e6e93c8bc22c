import { BlockList, isIP } from 'node:net';

/**
 * The address ranges a caller-chosen base URL may never reach (SPEC §6): loopback, private, link-local (cloud
 * metadata included), CGNAT, unspecified, benchmarking, multicast, reserved, and the IPv6 forms that embed an IPv4
 * address (mapped, compatible, NAT64, 6to4), so no spelling of 127.0.0.1 gets through.
 */
export const REFUSED_RANGES: readonly (readonly [network: string, prefix: number, family: 'ipv4' | 'ipv6'])[] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network", 0.0.0.0 reaches the local host
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // CGNAT
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], // link-local: 169.254.169.254 is the cloud metadata service
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments (192.0.0.192 is Oracle Cloud metadata)
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, 255.255.255.255 included
  ['::', 96, 'ipv6'], // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  ['::ffff:0:0', 96, 'ipv6'], // IPv4-mapped
  ['64:ff9b::', 96, 'ipv6'], // NAT64
  ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64
  ['2002::', 16, 'ipv6'], // 6to4 embeds any IPv4 address
  ['fc00::', 7, 'ipv6'], // unique local: fd00:ec2::254 is the AWS metadata service over IPv6
  ['fe80::', 10, 'ipv6'], // link-local
  ['ff00::', 8, 'ipv6'], // multicast
];

// One list per family: BlockList matches an IPv4 address against IPv6 rules through its mapped form (::ffff:a.b.c.d),
// so a single list holding ::ffff:0:0/96 would refuse every IPv4 address.
const refusedV4 = new BlockList();
const refusedV6 = new BlockList();
for (const [network, prefix, family] of REFUSED_RANGES) (family === 'ipv4' ? refusedV4 : refusedV6).addSubnet(network, prefix, family);

/** Strips the brackets of an IPv6 URL host (`[::1]` → `::1`). */
export function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** The address family of an IP literal (4 or 6), or 0 for a host name. Takes a URL host, brackets allowed. */
export function ipFamily(hostname: string): 0 | 4 | 6 {
  return isIP(unbracket(hostname)) as 0 | 4 | 6;
}

/**
 * Whether an IP address lies in a refused range. Anything that is not a well-formed address is refused too: the
 * check fails closed.
 */
export function isRefusedAddress(address: string): boolean {
  const bare = unbracket(address);
  // An IPv6 zone (fe80::1%eth0) names an interface: always local.
  if (bare.includes('%')) return true;
  const family = isIP(bare);
  if (family === 0) return true;
  return family === 4 ? refusedV4.check(bare, 'ipv4') : refusedV6.check(bare, 'ipv6');
}
