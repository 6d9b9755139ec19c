// The bridge mode: a Linux bridge per network holding its gateways (and, for a
// cluster network, its VXLAN device), and a veth pair per endpoint whose host
// end is on the bridge.
import type { BridgeSpec, Link, LinkPlane } from '../../dataplane/dataplane.js';
import { conflict } from '../../errors.js';
import type { EndpointRecord, NetworkRecord } from '../records.js';
import type { Step } from '../steps.js';
import type { NetworkMode } from './mode.js';

export interface BridgeModeConfig {
  /** Marks a bridge as this daemon's, followed by the network ID. */
  readonly bridgeAlias: string;
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
    if (network.cluster) await this.links.deleteLink(network.cluster.vxlan);
    await this.links.deleteLink(network.bridge);
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
    if (host.master !== network.bridge || !host.up) await this.links.attach(endpoint.hostName, network.bridge);
  }

  removeEndpoint(endpoint: EndpointRecord): Promise<void> {
    return this.links.deleteLink(endpoint.hostName);
  }

  private createVeth(network: NetworkRecord, endpoint: EndpointRecord): Promise<void> {
    const { hostName, peerName, mac } = endpoint;
    return this.links.createVeth({ hostName, peerName, bridge: network.bridge, mtu: network.mtu, mac });
  }

  private spec(network: NetworkRecord): BridgeSpec {
    const { tunnel } = this.config;
    return {
      name: network.bridge,
      mtu: network.mtu,
      alias: this.config.bridgeAlias + network.id,
      addresses: network.gateways,
      ...(network.cluster && tunnel
        ? { vxlan: { name: network.cluster.vxlan, vni: network.cluster.vni, local: tunnel.vtep, port: tunnel.port } }
        : {}),
    };
  }
}
