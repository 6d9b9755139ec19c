// IPv4 and IPv6 addresses and prefixes as bigints, so that both families share
// one arithmetic (pool offsets, containment, overlap) without a library.
import { isIPv4, isIPv6 } from 'node:net';

export type IpVersion = 4 | 6;

export interface IpAddress {
  readonly version: IpVersion;
  readonly value: bigint;
}

export interface IpPrefix {
  readonly version: IpVersion;
  /** The network address (host bits zero). */
  readonly base: bigint;
  readonly length: number;
}

export const bitsOf = (version: IpVersion): number => (version === 4 ? 32 : 128);

export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { version: 4, value };
  }
  if (isIPv6(text) && !text.includes('%')) {
    return { version: 6, value: parseIpv6(text) };
  }
  return undefined;
}

function parseIpv6(text: string): bigint {
  let head = text;
  let tailV4: bigint | undefined;
  // An embedded dotted quad (::ffff:1.2.3.4) fills the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIp(text.slice(lastColon + 1))?.value;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
  let value = groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export function formatIp(address: IpAddress): string {
  if (address.version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((address.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (of at least two) of zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses "a.b.c.d/n" or "x::y/n"; host bits may be set (see `addressOfCidr`). */
export function parseCidr(text: string): { address: IpAddress; length: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (length > bitsOf(address.version)) return undefined;
  return { address, length };
}

export function prefixOf(address: IpAddress, length: number): IpPrefix {
  const hostBits = BigInt(bitsOf(address.version) - length);
  return { version: address.version, base: (address.value >> hostBits) << hostBits, length };
}

/** Parses a prefix and requires its host bits to be zero, as Docker's own IPAM does. */
export function parsePrefix(text: string): IpPrefix | undefined {
  const cidr = parseCidr(text);
  if (!cidr) return undefined;
  const prefix = prefixOf(cidr.address, cidr.length);
  return prefix.base === cidr.address.value ? prefix : undefined;
}

export const formatPrefix = (prefix: IpPrefix): string =>
  `${formatIp({ version: prefix.version, value: prefix.base })}/${prefix.length}`;

export const prefixSize = (prefix: IpPrefix): bigint => 1n << BigInt(bitsOf(prefix.version) - prefix.length);

export const lastOf = (prefix: IpPrefix): bigint => prefix.base + prefixSize(prefix) - 1n;

export function contains(prefix: IpPrefix, address: IpAddress): boolean {
  return prefix.version === address.version && address.value >= prefix.base && address.value <= lastOf(prefix);
}

export function overlaps(a: IpPrefix, b: IpPrefix): boolean {
  return a.version === b.version && a.base <= lastOf(b) && b.base <= lastOf(a);
}

export const prefixContains = (outer: IpPrefix, inner: IpPrefix): boolean =>
  outer.version === inner.version &&
  outer.length <= inner.length &&
  contains(outer, { version: inner.version, value: inner.base });

/** The first of these CIDR subnets that holds the address. */
export const subnetContaining = (subnets: readonly string[], address: IpAddress): string | undefined =>
  subnets.find((text) => {
    const prefix = parsePrefix(text);
    return prefix !== undefined && contains(prefix, address);
  });

/** An interface address: an address with the prefix length of its subnet ("10.0.0.2/24"). */
export interface Cidr {
  readonly address: IpAddress;
  readonly length: number;
}

export const formatCidr = (cidr: Cidr): string => `${formatIp(cidr.address)}/${cidr.length}`;

/** The subnet an interface address is on. */
export const subnetOf = (cidr: Cidr): IpPrefix => prefixOf(cidr.address, cidr.length);

export const sameIp = (a: IpAddress, b: IpAddress): boolean => a.version === b.version && a.value === b.value;

/** An address as it goes into a URL or an iptables target: IPv6 in brackets. */
export const bracketed = (address: IpAddress): string =>
  address.version === 6 ? `[${formatIp(address)}]` : formatIp(address);
