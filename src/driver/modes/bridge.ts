// The bridge mode: a Linux bridge per network holding its gateways (and, for a
// cluster network, its VXLAN device), and a veth pair per endpoint whose host
// end is on the bridge.
import type { BridgeSpec, Link, LinkPlane } from '../../dataplane/dataplane.js';
import { conflict } from '../../errors.js';
import { formatCidr } from '../../net/ip.js';
import { bridgeMac } from '../naming.js';
import { type EndpointRecord, hostAddressesOf, type NetworkRecord, overlayOf } from '../records.js';
import type { Step } from '../steps.js';
import type { EndpointView, NetworkMode } from './mode.js';

export interface BridgeModeConfig {
  /** Marks a bridge or a veth's host end as this daemon's, followed by the network's or endpoint's ID. */
  readonly ownerAlias: string;
  /** Cluster mode: this host's end of every VXLAN tunnel. */
  readonly tunnel?: { readonly vtep: string; readonly port: number };
}

export class BridgeMode implements NetworkMode {
  constructor(
    private readonly links: LinkPlane,
    private readonly config: BridgeModeConfig,
  ) {}

  async checkNetwork(network: NetworkRecord): Promise<void> {
    if ((await this.links.listLinks()).some((l) => l.name === network.bridge)) {
      throw conflict(`an interface named ${network.bridge} already exists on the host; choose another bridge name`);
    }
  }

  buildNetwork(network: NetworkRecord): Step[] {
    return [
      {
        name: 'create the bridge',
        do: () => this.links.ensureBridge(this.spec(network)),
        undo: () => this.removeNetwork(network),
      },
    ];
  }

  repairNetwork(network: NetworkRecord): Promise<void> {
    return this.links.ensureBridge(this.spec(network));
  }

  async removeNetwork(network: NetworkRecord): Promise<void> {
    // A VXLAN device outlives its bridge; it goes on its own.
    const overlay = overlayOf(network);
    if (overlay) await this.links.deleteLink(overlay.vxlan);
    await this.links.deleteLink(network.bridge);
  }

  networkIntact(network: NetworkRecord, links: ReadonlyMap<string, Link>): boolean {
    const bridge = links.get(network.bridge);
    const overlay = overlayOf(network);
    const vxlan = overlay && links.get(overlay.vxlan);
    return (
      bridge?.up === true &&
      hostAddressesOf(network).every((a) => bridge.addresses.includes(formatCidr(a))) &&
      (!overlay || (vxlan?.up === true && vxlan.master === network.bridge))
    );
  }

  networkLinks(network: NetworkRecord): string[] {
    const overlay = overlayOf(network);
    return [network.bridge, ...(overlay ? [overlay.vxlan] : [])];
  }

  endpointView(network: NetworkRecord, endpoint: EndpointRecord, links: ReadonlyMap<string, Link>): EndpointView {
    const host = links.get(endpoint.hostName);
    return {
      alive: host !== undefined,
      peerOnHost: links.has(endpoint.peerName),
      placement: !host
        ? 'missing'
        : host.master !== network.bridge || !host.up || host.alias !== this.alias(endpoint)
          ? 'detached'
          : 'ok',
    };
  }

  buildEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Step[] {
    return [
      {
        name: 'create the veth pair',
        do: () => this.createVeth(network, endpoint),
        undo: () => this.removeEndpoint(endpoint),
      },
    ];
  }

  async repairEndpoint(network: NetworkRecord, endpoint: EndpointRecord, links?: readonly Link[]): Promise<void> {
    const host = (links ?? (await this.links.listLinks())).find((l) => l.name === endpoint.hostName);
    if (!host) return this.createVeth(network, endpoint);
    // A host end made before veths carried their owner's mark is this daemon's: its store names it.
    if (host.master !== network.bridge || !host.up || host.alias !== this.alias(endpoint)) {
      await this.links.attach(endpoint.hostName, network.bridge, this.alias(endpoint));
    }
  }

  removeEndpoint(endpoint: EndpointRecord): Promise<void> {
    return this.links.deleteLink(endpoint.hostName);
  }

  private createVeth(network: NetworkRecord, endpoint: EndpointRecord): Promise<void> {
    const { hostName, peerName, mac } = endpoint;
    const alias = this.alias(endpoint);
    return this.links.createVeth({ hostName, peerName, bridge: network.bridge, mtu: network.mtu, mac, alias });
  }

  private alias(endpoint: EndpointRecord): string {
    return this.config.ownerAlias + endpoint.id;
  }

  private spec(network: NetworkRecord): BridgeSpec {
    const { tunnel } = this.config;
    const overlay = overlayOf(network);
    return {
      name: network.bridge,
      mtu: network.mtu,
      alias: this.config.ownerAlias + network.id,
      mac: bridgeMac(network.bridge),
      addresses: hostAddressesOf(network),
      ...(overlay && tunnel
        ? { vxlan: { name: overlay.vxlan, vni: overlay.vni, local: tunnel.vtep, port: tunnel.port } }
        : {}),
    };
  }
}
