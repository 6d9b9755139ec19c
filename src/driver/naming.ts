// Names of the links tether makes. Host ends are PREFIX + hex, peers add a
// "p", bridges a "br", VXLAN devices a "vx" and host shims an "sh" (none a hex digit). A name says
// what a link is, not whose: two tethers on a host may share the prefix, so ownership is the
// daemon's mark in the link's alias (drift.ts).
import { createHash, randomBytes } from 'node:crypto';
import type { IpAddress } from '../net/ip.js';

const MAX_NAME = 15;

export const vethHostName = (prefix: string, endpointId: string) =>
  `${prefix}${endpointId.slice(0, MAX_NAME - prefix.length - 1)}`;

export const vethPeerName = (prefix: string, endpointId: string) => `${vethHostName(prefix, endpointId)}p`;

export const defaultBridgeName = (prefix: string, networkId: string) =>
  `${prefix}br${networkId.slice(0, MAX_NAME - prefix.length - 2)}`;

/** A network's tunnel device ("vx": VXLAN's, the one tunnel so far). */
export const tunnelName = (prefix: string, networkId: string) =>
  `${prefix}vx${networkId.slice(0, MAX_NAME - prefix.length - 2)}`;

/**
 * A locally administered MAC made from the address, as Docker's bridge does:
 * a reused address then keeps its MAC, and neighbours' caches stay right.
 */
export function macFor(address: IpAddress | undefined): string {
  const low = address ? Number(address.value & 0xffffffffn) : randomBytes(4).readUInt32BE();
  const bytes = [0x02, 0x74, (low >>> 24) & 0xff, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * A bridge's own MAC, fixed (as Docker's bridge driver fixes it): a Linux bridge otherwise takes the
 * lowest MAC among its ports, so a container joining with a lower one changes the gateway's MAC under
 * the other containers, whose frames to the old one are then dropped until their ARP entries expire.
 */
export function bridgeMac(bridge: string): string {
  const hash = createHash('sha256').update(bridge).digest();
  return ['02', '62', ...[...hash.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** The host's own macvlan onto a macvlan network (-o tether.host-shim=true). */
export const shimName = (prefix: string, networkId: string) =>
  `${prefix}sh${networkId.slice(0, MAX_NAME - prefix.length - 2)}`;
