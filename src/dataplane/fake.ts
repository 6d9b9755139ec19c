// An in-memory LinkPlane for unit tests: it keeps links the way the kernel
// would, including a veth pair vanishing as one. The firewall's and the
// ports' fakes are in fake-firewall.ts.
import { TetherError } from '../errors.js';
import type { IpPrefix } from '../net/ip.js';
import { contains, formatCidr, formatIp, parseCidr, parseIp, prefixOf } from '../net/ip.js';
import type {
  BridgeSpec,
  Link,
  LinkPlane,
  MacvlanSpec,
  OverlayPeer,
  PeerChange,
  VethSpec,
  VlanSpec,
  VxlanSpec,
} from './dataplane.js';
import { mismatch } from './uplink-commands.js';

type MutableLink = { -readonly [K in keyof Link]: Link[K] } & { peer?: string };

export class FakeLinks implements LinkPlane {
  readonly links = new Map<string, MutableLink>();
  /** Routes besides the connected ones of the links' addresses (which the kernel adds, and so does this). */
  routes: IpPrefix[] = [];
  /** Each VXLAN device's peers, as last programmed. */
  readonly overlays = new Map<string, readonly OverlayPeer[]>();
  underlay = { source: '192.0.2.1', mtu: 1500 };
  /** The interfaces the host's default routes leave by. */
  defaultRoutes: string[] = [];
  /** False: the kernel has no 802.1q module, as on the test machine. */
  vlans = true;

  /** A host interface tether did not make (a NIC). */
  addNic(name: string, addresses: string[] = []): void {
    this.links.set(name, { name, kind: '', up: true, mtu: 1500, addresses });
  }

  async listLinks(): Promise<Link[]> {
    return [...this.links.values()].map(({ peer: _peer, ...link }) => ({ ...link, addresses: [...link.addresses] }));
  }

  async ensureBridge(spec: BridgeSpec): Promise<void> {
    const existing = this.links.get(spec.name);
    if (existing && existing.kind !== 'bridge')
      throw new TetherError('CONFLICT', `${spec.name} exists and is not a bridge`);
    const addresses = [...new Set([...(existing?.addresses ?? []), ...spec.addresses.map(formatCidr)])];
    this.links.set(spec.name, {
      name: spec.name,
      kind: 'bridge',
      alias: spec.alias,
      mac: spec.mac,
      up: true,
      mtu: spec.mtu,
      addresses,
    });
  }

  async ensureVxlan(spec: VxlanSpec): Promise<void> {
    const existing = this.links.get(spec.name);
    if (existing && existing.kind !== 'vxlan')
      throw new TetherError('CONFLICT', `${spec.name} exists and is not a VXLAN device`);
    if (!this.links.has(spec.bridge)) throw new TetherError('KERNEL', `Cannot find device "${spec.bridge}"`);
    const { name, bridge: master, alias, mtu } = spec;
    this.links.set(name, { name, kind: 'vxlan', master, alias, up: true, mtu, addresses: [] });
  }

  async syncVxlanPeers(device: string, peers: readonly OverlayPeer[]): Promise<number> {
    if (!this.links.has(device)) throw new TetherError('KERNEL', `Cannot find device "${device}"`);
    const said = (p: OverlayPeer) => JSON.stringify([p.mac, p.vtep, [...p.addresses].sort()]);
    const held = (this.overlays.get(device) ?? []).map(said);
    this.overlays.set(device, peers);
    return new Set([...held, ...peers.map(said)]).size * 2 - held.length - peers.length;
  }

  async changeVxlanPeers(device: string, changes: readonly PeerChange[]): Promise<void> {
    if (!this.links.has(device)) throw new TetherError('KERNEL', `Cannot find device "${device}"`);
    const entry = (p: OverlayPeer) => `${p.mac} ${p.vtep}`;
    let missing: OverlayPeer | undefined;
    for (const change of changes) {
      const held = this.overlays.get(device) ?? [];
      const gone = new Set(change.remove.map(entry));
      const added = new Set(change.add.map((p) => p.mac));
      this.overlays.set(device, [...held.filter((p) => !gone.has(entry(p)) && !added.has(p.mac)), ...change.add]);
      missing ??= change.remove.find((p) => !held.some((h) => entry(h) === entry(p)));
    }
    // As the kernel with -force: the rest is done, and an entry that was not there is said.
    if (missing) throw new TetherError('KERNEL', `RTNETLINK answers: No such file or directory (${entry(missing)})`);
  }

  /** From the link whose subnet holds the destination, as the kernel's connected route; else the underlay. */
  async routeTowards(destination: string): Promise<{ source: string; mtu: number }> {
    const target = parseIp(destination);
    for (const link of this.links.values()) {
      for (const text of link.up ? link.addresses : []) {
        const cidr = parseCidr(text);
        if (cidr && target && contains(prefixOf(cidr.address, cidr.length), target))
          return { source: formatIp(cidr.address), mtu: link.mtu };
      }
    }
    return this.underlay;
  }

  async createVeth(spec: VethSpec): Promise<void> {
    for (const name of [spec.hostName, spec.peerName]) {
      if (this.links.has(name)) throw new TetherError('KERNEL', `RTNETLINK answers: File exists (${name})`);
    }
    if (!this.links.has(spec.bridge)) throw new TetherError('KERNEL', `Cannot find device "${spec.bridge}"`);
    this.links.set(spec.hostName, {
      name: spec.hostName,
      kind: 'veth',
      master: spec.bridge,
      alias: spec.alias,
      up: true,
      mtu: spec.mtu,
      addresses: [],
      peer: spec.peerName,
    });
    this.links.set(spec.peerName, {
      name: spec.peerName,
      kind: 'veth',
      mac: spec.mac,
      up: false,
      mtu: spec.mtu,
      addresses: [],
      peer: spec.hostName,
    });
  }

  async ensureMacvlan(spec: MacvlanSpec): Promise<void> {
    const existing = this.links.get(spec.name);
    const wrong = existing && mismatch(existing, spec, 'macvlan');
    if (wrong) throw new TetherError('CONFLICT', wrong);
    if (!this.links.get(spec.parent)?.up) throw new TetherError('KERNEL', `Cannot find device "${spec.parent}"`);
    const addresses = [...new Set([...(existing?.addresses ?? []), ...spec.addresses.map(formatCidr)])];
    const up = existing?.up || spec.addresses.length > 0;
    this.links.set(spec.name, { ...spec, kind: 'macvlan', up, addresses });
  }

  async ensureVlan(spec: VlanSpec): Promise<void> {
    const existing = this.links.get(spec.name);
    const wrong = existing && mismatch(existing, spec, 'vlan', spec.id);
    if (wrong) throw new TetherError('CONFLICT', wrong);
    if (existing) return;
    if (!this.vlans) throw new TetherError('KERNEL', `this host's kernel has no 802.1q VLAN support: ${spec.name}`);
    const { id, ...link } = spec;
    this.links.set(spec.name, { ...link, kind: 'vlan', vlan: id, up: true, mtu: 1500, addresses: [] });
  }

  async defaultRouteLinks(): Promise<string[]> {
    return this.defaultRoutes;
  }

  async attach(hostName: string, bridge: string, alias?: string): Promise<void> {
    const link = this.links.get(hostName);
    if (!link) throw new TetherError('KERNEL', `Cannot find device "${hostName}"`);
    link.master = bridge;
    link.up = true;
    if (alias) link.alias = alias;
  }

  /** As the kernel does: a veth's peer goes too, a macvlan or VLAN on the link goes, a bridge lets its ports go. */
  async deleteLink(name: string): Promise<void> {
    const link = this.links.get(name);
    this.links.delete(name);
    if (link?.peer) this.links.delete(link.peer);
    for (const other of [...this.links.values()]) {
      if (other.parent === name) await this.deleteLink(other.name);
      if (other.master === name) delete other.master;
    }
  }

  /** What Docker does at Join: the peer leaves the host for the container's namespace. */
  moveToContainer(name: string): void {
    const link = this.links.get(name);
    this.links.delete(name);
    const host = link?.peer ? this.links.get(link.peer) : undefined;
    if (host) host.peer = undefined;
  }

  async hostRoutes(): Promise<IpPrefix[]> {
    const connected = [...this.links.values()].flatMap((link) =>
      (link.up ? link.addresses : []).flatMap((text) => {
        const cidr = parseCidr(text);
        return cidr ? [prefixOf(cidr.address, cidr.length)] : [];
      }),
    );
    return [...this.routes, ...connected];
  }
}
