// VXLAN as the tunnel: one device per network, with this host's tunnel address
// as its source. The kernel work is the LinkPlane's (iproute.ts, fake.ts).
import { isIPv6 } from 'node:net';
import type { Link, LinkPlane, OverlayPeer, PeerChange } from '../dataplane/dataplane.js';
import type { Tunnel, TunnelDevice } from './tunnel.js';

export class VxlanTunnel implements Tunnel {
  readonly name = 'VXLAN';
  /** The outer IP header (20; 40 over IPv6), UDP (8), VXLAN (8) and the inner Ethernet header (14). */
  readonly overhead: number;

  constructor(
    private readonly links: LinkPlane,
    /** This host's tunnel address, and the UDP port every host's devices use. */
    private readonly underlay: { readonly local: string; readonly port: number },
  ) {
    this.overhead = isIPv6(underlay.local) ? 70 : 50;
  }

  ensure(device: TunnelDevice): Promise<void> {
    return this.links.ensureVxlan({ ...device, local: this.underlay.local, port: this.underlay.port });
  }

  remove(name: string): Promise<void> {
    return this.links.deleteLink(name);
  }

  intact(device: Pick<TunnelDevice, 'name' | 'bridge'>, links: ReadonlyMap<string, Link>): boolean {
    const link = links.get(device.name);
    return link?.kind === 'vxlan' && link.up && link.master === device.bridge;
  }

  programPeers(device: string, peers: readonly OverlayPeer[]): Promise<number> {
    return this.links.syncVxlanPeers(device, peers);
  }

  changePeers(device: string, changes: readonly PeerChange[]): Promise<void> {
    return this.links.changeVxlanPeers(device, changes);
  }
}
