// In-memory LinkPlane and Firewall for unit tests: they keep links and rules
// the way the kernel would, including a veth pair vanishing as one.
import { TetherError } from '../errors.js';
import type { IpPrefix } from '../net/ip.js';
import { contains, formatCidr, formatIp, formatPrefix, parseCidr, parseIp, prefixOf } from '../net/ip.js';
import type {
  BridgeSpec,
  Firewall,
  FirewallNetwork,
  HostPort,
  Link,
  LinkPlane,
  MacvlanSpec,
  OverlayPeer,
  PortKeeper,
  VethSpec,
  VlanSpec,
  VxlanSpec,
} from './dataplane.js';
import { familyRules } from './iptables.js';
import type { ServiceAddress } from './service-address.js';
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

  async syncVxlanPeers(device: string, peers: readonly OverlayPeer[]): Promise<void> {
    if (!this.links.has(device)) throw new TetherError('KERNEL', `Cannot find device "${device}"`);
    this.overlays.set(device, peers);
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

/** A network's rules as text, as the kernel would hold them. */
const rulesOf = (n: FirewallNetwork) => ({
  bridge: n.bridge,
  internal: n.internal,
  nat: n.nat,
  subnets: n.subnets.map(formatPrefix),
  ports: n.ports.map((p) => ({
    proto: p.proto,
    hostIp: p.hostIp ? formatIp(p.hostIp) : '',
    hostPort: p.hostPort,
    containerIp: formatIp(p.containerIp),
    containerPort: p.containerPort,
  })),
});

/** What the real firewall writes for the networks, both families, from the same rule builder. */
const rendered = (networks: readonly FirewallNetwork[]) => ({
  4: familyRules(networks, 4),
  6: familyRules(networks, 6),
});

export class FakeFirewall implements Firewall {
  /** The networks as last synced, as text (tests read them). */
  networks: ReturnType<typeof rulesOf>[] = [];
  /** The rules the real firewall would hold now. */
  rules = rendered([]);

  async sync(networks: readonly FirewallNetwork[]): Promise<void> {
    this.networks = networks.map(rulesOf);
    this.rules = rendered(networks);
  }

  /** As IpTables.verify: the rules the networks need, against those held. */
  async verify(networks: readonly FirewallNetwork[]): Promise<string[]> {
    const same = JSON.stringify(rendered(networks)) === JSON.stringify(this.rules);
    return same ? [] : ['firewall rules are not those of the networks'];
  }
}

export class FakePortKeeper implements PortKeeper {
  readonly held = new Set<string>();
  private nextFree = 49153;

  async hold({ proto, hostIp, family, port }: HostPort): Promise<number> {
    const actual = port || this.nextFree++;
    const key = `${proto}/${hostIp ? formatIp(hostIp) : family}/${actual}`;
    if (this.held.has(key))
      throw new TetherError('CONFLICT', `host port ${actual}/${proto} is not available: EADDRINUSE`);
    this.held.add(key);
    return actual;
  }

  async release({ proto, hostIp, family, port }: HostPort): Promise<void> {
    this.held.delete(`${proto}/${hostIp ? formatIp(hostIp) : family}/${port}`);
  }
}

/** The service addresses on the host's lo, as the kernel would hold them. */
export class FakeServiceAddresses {
  readonly held = new Set<string>();

  for(address: string): ServiceAddress {
    return {
      add: async () => void this.held.add(address),
      remove: async () => void this.held.delete(address),
    };
  }
}
