// The narrow shapes the driver programs the kernel through. iproute2 and
// iptables implement them for real; tests may plug in the in-memory fake.
import type { IpPrefix } from '../net/ip.js';

export interface Link {
  readonly name: string;
  /** "bridge", "veth", ... ("" for a link without a kind, such as a physical NIC). */
  readonly kind: string;
  readonly master?: string;
  readonly alias?: string;
  readonly up: boolean;
  readonly mtu: number;
  /** Addresses in CIDR form. */
  readonly addresses: readonly string[];
}

export interface BridgeSpec {
  readonly name: string;
  readonly mtu: number;
  /** Marks the bridge as tether's, so that a restart can tell its own from others'. */
  readonly alias: string;
  /** Gateway addresses in CIDR form. */
  readonly addresses: readonly string[];
}

export interface VethSpec {
  /** The end that stays on the host, enslaved to the bridge. */
  readonly hostName: string;
  /** The end Docker moves into the container. */
  readonly peerName: string;
  readonly bridge: string;
  readonly mtu: number;
  readonly mac: string;
}

export interface LinkPlane {
  listLinks(): Promise<Link[]>;
  /** Creates the bridge or brings an existing one to the spec (addresses, MTU, up). */
  ensureBridge(spec: BridgeSpec): Promise<void>;
  createVeth(spec: VethSpec): Promise<void>;
  /** Puts an existing host end back on its bridge, up. */
  attach(hostName: string, bridge: string): Promise<void>;
  /** Deletes a link; a link already gone is not an error. */
  deleteLink(name: string): Promise<void>;
  /** Every prefix the host routes (unicast routes, main table), for choosing free pools. */
  hostRoutes(): Promise<IpPrefix[]>;
}

export interface FirewallNetwork {
  readonly bridge: string;
  readonly internal: boolean;
}

export interface Firewall {
  /** Makes tether's rules exactly those for these networks (none: removes tether's chains). */
  sync(networks: readonly FirewallNetwork[]): Promise<void>;
  /** Differences between the rules in force and those for these networks, in words. */
  verify(networks: readonly FirewallNetwork[]): Promise<string[]>;
}
