// The seam for what carries a cluster or swarm network between hosts: a device
// on each host's bridge of the network, its overhead (the network's MTU leaves
// room for it), and its peers, the other hosts' endpoints. VXLAN (vxlan.ts) is
// the one tunnel today; an encrypted one is a new file beside it.
import type { Link, OverlayPeer, PeerChange } from '../dataplane/dataplane.js';

/** A network's tunnel device on this host. */
export interface TunnelDevice {
  readonly name: string;
  /** The network's number on the tunnel, the same on every host. */
  readonly vni: number;
  /** The network's bridge, which the device is on. */
  readonly bridge: string;
  readonly mtu: number;
  /** The owner's mark, as on the bridge. */
  readonly alias: string;
}

export interface Tunnel {
  /** What the tunnel is, for messages: "VXLAN". */
  readonly name: string;
  /** Bytes each packet carries on the underlay beyond the network's own: the network's MTU leaves room for them. */
  readonly overhead: number;
  /** Makes the device on its bridge, or brings an existing one back to the spec. */
  ensure(device: TunnelDevice): Promise<void>;
  /** Removes the device; one already gone is not an error. */
  remove(name: string): Promise<void>;
  /** Whether the device is there as the spec says, judged from the host's links. */
  intact(device: Pick<TunnelDevice, 'name' | 'bridge'>, links: ReadonlyMap<string, Link>): boolean;
  /** Makes the device reach exactly these endpoints of other hosts; returns how many entries it changed. */
  programPeers(device: string, peers: readonly OverlayPeer[]): Promise<number>;
  /** Applies changes of peers in order: some endpoints reached no more, others reached; fails if one was not there. */
  changePeers(device: string, changes: readonly PeerChange[]): Promise<void>;
}
