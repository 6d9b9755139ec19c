// The bridge mode: a Linux bridge per network holding its gateways (and, for a
// cluster or swarm network, its tunnel device), and a veth pair per endpoint
// whose host end is on the bridge.
import type { BridgeSpec, Link, LinkPlane } from '../../../dataplane/dataplane.js';
import { conflict } from '../../../errors.js';
import { formatCidr } from '../../../net/ip.js';
import type { Tunnel, TunnelDevice } from '../../../tunnel/tunnel.js';
import { bridgeMac } from '../../naming.js';
import type { EndpointRecord, NetworkRecord } from '../../records.js';
import type { Step } from '../../steps.js';
import { bridgeOf, kindOf } from '../kind-of.js';
import type { EndpointView, NetworkMode } from '../mode.js';

export interface BridgeModeConfig {
  /** Marks a bridge or a veth's host end as this daemon's, followed by the network's or endpoint's ID. */
  readonly ownerAlias: string;
  /** Cluster mode: what carries a cluster or swarm network to the other hosts. */
  readonly tunnel?: Tunnel;
}

export class BridgeMode implements NetworkMode {
  constructor(
    private readonly links: LinkPlane,
    private readonly config: BridgeModeConfig,
  ) {}

  async checkNetwork(network: NetworkRecord): Promise<void> {
    const bridge = bridgeOf(network);
    if ((await this.links.listLinks()).some((l) => l.name === bridge)) {
      throw conflict(`an interface named ${bridge} already exists on the host; choose another bridge name`);
    }
  }

  buildNetwork(network: NetworkRecord): Step[] {
    const tunnelled = this.tunnelled(network);
    return [
      {
        name: 'create the bridge',
        do: () => this.links.ensureBridge(this.spec(network)),
        undo: () => this.links.deleteLink(bridgeOf(network)),
      },
      ...(tunnelled
        ? [
            {
              name: 'create the tunnel device',
              do: () => tunnelled.tunnel.ensure(tunnelled.device),
              undo: () => tunnelled.tunnel.remove(tunnelled.device.name),
            },
          ]
        : []),
    ];
  }

  async repairNetwork(network: NetworkRecord): Promise<void> {
    await this.links.ensureBridge(this.spec(network));
    const tunnelled = this.tunnelled(network);
    if (tunnelled) await tunnelled.tunnel.ensure(tunnelled.device);
  }

  async removeNetwork(network: NetworkRecord): Promise<void> {
    // A tunnel device outlives its bridge; it goes on its own (a daemon out of cluster mode deletes the link).
    const { tunnel } = kindOf(network);
    if (tunnel) await (this.config.tunnel?.remove(tunnel.device) ?? this.links.deleteLink(tunnel.device));
    await this.links.deleteLink(bridgeOf(network));
  }

  networkIntact(network: NetworkRecord, links: ReadonlyMap<string, Link>): boolean {
    const name = bridgeOf(network);
    const { tunnel, hostAddresses } = kindOf(network);
    const bridge = links.get(name);
    return (
      bridge?.up === true &&
      hostAddresses.every((a) => bridge.addresses.includes(formatCidr(a))) &&
      (!tunnel || this.config.tunnel?.intact({ name: tunnel.device, bridge: name }, links) === true)
    );
  }

  networkLinks(network: NetworkRecord): string[] {
    const { tunnel } = kindOf(network);
    return [bridgeOf(network), ...(tunnel ? [tunnel.device] : [])];
  }

  endpointView(network: NetworkRecord, endpoint: EndpointRecord, links: ReadonlyMap<string, Link>): EndpointView {
    const host = links.get(hostEndOf(endpoint));
    return {
      alive: host !== undefined,
      peerOnHost: links.has(endpoint.peerName),
      placement: !host
        ? 'missing'
        : host.master !== bridgeOf(network) || !host.up || host.alias !== this.alias(endpoint)
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
    const hostEnd = hostEndOf(endpoint);
    const host = (links ?? (await this.links.listLinks())).find((l) => l.name === hostEnd);
    if (!host) return this.createVeth(network, endpoint);
    // A host end made before veths carried their owner's mark is this daemon's: its store names it.
    const bridge = bridgeOf(network);
    if (host.master !== bridge || !host.up || host.alias !== this.alias(endpoint)) {
      await this.links.attach(hostEnd, bridge, this.alias(endpoint));
    }
  }

  async removeEndpoint(endpoint: EndpointRecord): Promise<void> {
    if (endpoint.hostName) await this.links.deleteLink(endpoint.hostName);
  }

  private createVeth(network: NetworkRecord, endpoint: EndpointRecord): Promise<void> {
    const { peerName, mac } = endpoint;
    const [hostName, bridge, alias] = [hostEndOf(endpoint), bridgeOf(network), this.alias(endpoint)];
    return this.links.createVeth({ hostName, peerName, bridge, mtu: network.mtu, mac, alias });
  }

  private alias(endpoint: EndpointRecord): string {
    return this.config.ownerAlias + endpoint.id;
  }

  private spec(network: NetworkRecord): BridgeSpec {
    const bridge = bridgeOf(network);
    return {
      name: bridge,
      mtu: network.mtu,
      alias: this.config.ownerAlias + network.id,
      mac: bridgeMac(bridge),
      addresses: kindOf(network).hostAddresses,
    };
  }

  /**
   * The tunnel and the network's device on it, for a network the tunnel carries between hosts; none
   * on a daemon out of cluster mode, which keeps such a network's bridge alone (the audit says so).
   */
  private tunnelled(network: NetworkRecord): { tunnel: Tunnel; device: TunnelDevice } | undefined {
    const { tunnel } = this.config;
    const wanted = kindOf(network).tunnel;
    if (!tunnel || !wanted) return undefined;
    const { mtu, id } = network;
    const alias = this.config.ownerAlias + id;
    return { tunnel, device: { name: wanted.device, vni: wanted.vni, bridge: bridgeOf(network), mtu, alias } };
  }
}

/** The veth's host end: every endpoint on a bridge has one. */
function hostEndOf(endpoint: EndpointRecord): string {
  if (endpoint.hostName === undefined) throw new Error(`endpoint ${endpoint.id} has no host interface`);
  return endpoint.hostName;
}
