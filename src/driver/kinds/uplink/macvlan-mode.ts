// The macvlan mode (-o tether.parent=IFACE): each endpoint is a macvlan in
// bridge mode on the host interface (or its VLAN sub-interface), so the
// container sits on that LAN with its own MAC and address: no bridge, no NAT.
// The host cannot reach its own macvlans through the parent; -o
// tether.host-shim=true gives it a macvlan of its own with an address on the
// network, whose connected route leads to the containers.
import type { Link, LinkPlane } from '../../../dataplane/dataplane.js';
import { formatCidr } from '../../../net/ip.js';
import type { EndpointRecord, NetworkRecord } from '../../records.js';
import type { Step } from '../../steps.js';
import type { EndpointView, NetworkMode } from '../mode.js';
import { type UplinkLinks, uplinkOf } from './uplink-links.js';

export class MacvlanMode implements NetworkMode {
  constructor(
    private readonly links: LinkPlane,
    private readonly uplink: UplinkLinks,
    /** The host shim's link name for a network. */
    private readonly shimName: (networkId: string) => string,
  ) {}

  checkNetwork(network: NetworkRecord): Promise<void> {
    return this.uplink.check(network, false);
  }

  buildNetwork(network: NetworkRecord): Step[] {
    const shim = uplinkOf(network).shim;
    return [
      ...this.uplink.steps(network),
      ...(shim
        ? [
            {
              name: 'create the host shim',
              do: () => this.ensureShim(network),
              undo: () => this.links.deleteLink(this.shimName(network.id)),
            },
          ]
        : []),
    ];
  }

  async repairNetwork(network: NetworkRecord): Promise<void> {
    await this.uplink.ensure(network);
    if (uplinkOf(network).shim) await this.ensureShim(network);
  }

  async removeNetwork(network: NetworkRecord): Promise<void> {
    await this.links.deleteLink(this.shimName(network.id));
    await this.uplink.remove(network);
  }

  buildEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Step[] {
    return [
      {
        name: 'create the macvlan',
        do: () => this.createMacvlan(network, endpoint),
        undo: () => this.removeEndpoint(endpoint),
      },
    ];
  }

  async repairEndpoint(network: NetworkRecord, endpoint: EndpointRecord, links?: readonly Link[]): Promise<void> {
    if (!(links ?? (await this.links.listLinks())).some((l) => l.name === endpoint.peerName))
      await this.createMacvlan(network, endpoint);
  }

  removeEndpoint(endpoint: EndpointRecord): Promise<void> {
    return this.links.deleteLink(endpoint.peerName);
  }

  networkIntact(network: NetworkRecord, links: ReadonlyMap<string, Link>): boolean {
    const shim = uplinkOf(network).shim;
    const link = links.get(this.shimName(network.id));
    return (
      this.uplink.intact(network, links) &&
      (!shim || (link?.up === true && shim.every((a) => link.addresses.includes(formatCidr(a)))))
    );
  }

  networkLinks(network: NetworkRecord): string[] {
    return [...this.uplink.linksOf(network), ...(uplinkOf(network).shim ? [this.shimName(network.id)] : [])];
  }

  /** A joined macvlan lives in the container, where the host cannot see it: only Docker knows. */
  endpointView(_network: NetworkRecord, endpoint: EndpointRecord, links: ReadonlyMap<string, Link>): EndpointView {
    const onHost = links.has(endpoint.peerName);
    return {
      alive: undefined,
      peerOnHost: onHost,
      placement: onHost || endpoint.sandboxKey !== undefined ? 'ok' : 'missing',
    };
  }

  private createMacvlan(network: NetworkRecord, endpoint: EndpointRecord): Promise<void> {
    return this.links.ensureMacvlan({
      name: endpoint.peerName,
      parent: uplinkOf(network).link,
      mtu: network.mtu,
      mac: endpoint.mac,
      alias: this.uplink.alias(network),
      addresses: [],
    });
  }

  private ensureShim(network: NetworkRecord): Promise<void> {
    const { link, shim } = uplinkOf(network);
    return this.links.ensureMacvlan({
      name: this.shimName(network.id),
      parent: link,
      mtu: network.mtu,
      alias: this.uplink.alias(network),
      addresses: shim ?? [],
    });
  }
}
