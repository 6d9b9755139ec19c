// The narrow shapes the driver programs the kernel through. iproute2 and
// iptables implement them for real; tests may plug in the in-memory fake.
import type { Cidr, IpAddress, IpPrefix, IpVersion } from '../net/ip.js';

export interface Link {
  readonly name: string;
  /** "bridge", "veth", ... ("" for a link without a kind, such as a physical NIC). */
  readonly kind: string;
  readonly master?: string;
  /** The lower device of a macvlan or VLAN sub-interface. */
  readonly parent?: string;
  readonly mac?: string;
  /** A VLAN sub-interface's 802.1q ID. */
  readonly vlan?: number;
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
  /** Its own MAC, so that it does not follow its ports'. */
  readonly mac: string;
  /** Gateway addresses, with their subnets' lengths. */
  readonly addresses: readonly Cidr[];
}

/** A VXLAN device on a network's bridge (tunnel/vxlan.ts). */
export interface VxlanSpec {
  readonly name: string;
  readonly vni: number;
  /** This host's tunnel address. */
  readonly local: string;
  readonly port: number;
  /** The bridge it is on. */
  readonly bridge: string;
  readonly mtu: number;
  readonly alias: string;
}

/** An endpoint on another host, as a VXLAN device must know it. */
export interface OverlayPeer {
  readonly mac: string;
  /** The tunnel address of the endpoint's host. */
  readonly vtep: string;
  /** The endpoint's addresses, without prefix length. */
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
  /** The host end's owner mark (ifalias): this daemon's, so that no other tether on the host takes it for its own. */
  readonly alias: string;
}

/** A macvlan (bridge mode) on a host interface: an endpoint's, or the host's shim onto the network. */
export interface MacvlanSpec {
  readonly name: string;
  readonly parent: string;
  readonly mtu: number;
  readonly mac?: string;
  /** Marks the link as tether's. */
  readonly alias: string;
  /** The shim's addresses (it is brought up); an endpoint's has none and stays down until Docker moves it. */
  readonly addresses: readonly Cidr[];
}

/** An 802.1q sub-interface of a host interface. */
export interface VlanSpec {
  readonly name: string;
  readonly parent: string;
  readonly id: number;
  readonly alias: string;
}

/** Peers to take out of a tunnel device and peers to put in: one endpoint that came, went or moved. */
export interface PeerChange {
  readonly remove: readonly OverlayPeer[];
  readonly add: readonly OverlayPeer[];
}

export interface LinkPlane {
  listLinks(): Promise<Link[]>;
  /** Creates the bridge or brings an existing one to the spec (addresses, MTU, up). */
  ensureBridge(spec: BridgeSpec): Promise<void>;
  createVeth(spec: VethSpec): Promise<void>;
  /** Puts the interface on the bridge, up; with an alias, marks it this daemon's too (a veth's host end). */
  attach(hostName: string, bridge: string, alias?: string): Promise<void>;
  /** Creates the macvlan or brings an existing one to the spec; one of another kind or parent is an error. */
  ensureMacvlan(spec: MacvlanSpec): Promise<void>;
  /** Creates the VLAN sub-interface, up, or checks an existing one has this parent and ID. */
  ensureVlan(spec: VlanSpec): Promise<void>;
  /** The interfaces the host's default routes leave by (both families). */
  defaultRouteLinks(): Promise<string[]>;
  /** Deletes a link; a link already gone is not an error. */
  deleteLink(name: string): Promise<void>;
  /**
   * Creates the VXLAN device with no learning and no flooding, or checks an existing one is VXLAN;
   * then puts it on its bridge, up.
   */
  ensureVxlan(spec: VxlanSpec): Promise<void>;
  /**
   * Makes the VXLAN device's forwarding entries (MAC to tunnel address) and neighbour entries
   * (address to MAC) exactly those of the peers. Returns how many entries it changed.
   */
  syncVxlanPeers(device: string, peers: readonly OverlayPeer[]): Promise<number>;
  /**
   * Applies changes of peers to the VXLAN device in order, each taking some peers' entries out and
   * putting others' in; the rest stay. Fails if an entry to take out was not there (the others are done).
   */
  changeVxlanPeers(device: string, changes: readonly PeerChange[]): Promise<void>;
  /** The address this host would send from towards the destination, and the MTU of that link. */
  routeTowards(destination: string): Promise<{ source: string; mtu: number }>;
  /** Every prefix the host routes (unicast routes, main table), for choosing free pools. */
  hostRoutes(): Promise<IpPrefix[]>;
}

/** A host port forwarded to a container port (one address family). */
export interface PublishedPort {
  readonly proto: 'tcp' | 'udp';
  /** The host address it is bound to; absent for every address of the host (in the container's family). */
  readonly hostIp?: IpAddress;
  readonly hostPort: number;
  readonly containerIp: IpAddress;
  readonly containerPort: number;
}

/** A host port to hold: on one address, or on every address of a family. */
export interface HostPort {
  readonly proto: 'tcp' | 'udp';
  readonly hostIp?: IpAddress;
  readonly family: IpVersion;
  readonly port: number;
}

export interface FirewallNetwork {
  readonly bridge: string;
  readonly internal: boolean;
  /** The bridge carries a host interface (a bridged uplink): the LAN reaches the host through it. */
  readonly lan: boolean;
  /** Masquerade traffic leaving the network (never for internal ones). */
  readonly nat: boolean;
  readonly subnets: readonly IpPrefix[];
  readonly ports: readonly PublishedPort[];
}

/**
 * Holds published host ports open, as Docker's proxy does, so that a port tether forwards cannot
 * be taken by another process, and one another process holds is refused at once.
 */
export interface PortKeeper {
  /** Holds the port (0: any free one) on the host address (absent: all of the family's); returns the port held. */
  hold(port: HostPort): Promise<number>;
  release(port: HostPort): Promise<void>;
}

export interface Firewall {
  /** Makes tether's rules exactly those for these networks (none: removes tether's chains). */
  sync(networks: readonly FirewallNetwork[]): Promise<void>;
  /** Differences between the rules in force and those for these networks, in words. */
  verify(networks: readonly FirewallNetwork[]): Promise<string[]>;
}
