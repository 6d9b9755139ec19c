// The bridge mode on a host interface (-o tether.uplink=IFACE): the network's
// bridge with the interface (or its VLAN sub-interface) enslaved, and a veth
// per endpoint as in the bridge mode, so the containers sit on that LAN. The
// bridge holds no gateway (the LAN's router is the gateway); with -o
// tether.host-shim=true it holds the host's own address on the network.
import type { Link, LinkPlane } from '../../../dataplane/dataplane.js';
import type { EndpointRecord, NetworkRecord } from '../../records.js';
import type { Step } from '../../steps.js';
import type { BridgeMode } from '../bridge/bridge-mode.js';
import { bridgeOf } from '../kind-of.js';
import type { EndpointView, NetworkMode } from '../mode.js';
import { type UplinkLinks, uplinkOf } from './uplink-links.js';

export class BridgedUplinkMode implements NetworkMode {
  constructor(
    private readonly links: LinkPlane,
    private readonly uplink: UplinkLinks,
    /** The bridge and its endpoints, without a tunnel device: the LAN joins the hosts. */
    private readonly bridge: BridgeMode,
  ) {}

  async checkNetwork(network: NetworkRecord): Promise<void> {
    await this.bridge.checkNetwork(network);
    await this.uplink.check(network, true);
  }

  buildNetwork(network: NetworkRecord): Step[] {
    return [
      ...this.uplink.steps(network),
      ...this.bridge.buildNetwork(network),
      {
        name: 'put the uplink on the bridge',
        do: () => this.links.attach(uplinkOf(network).link, bridgeOf(network)),
      },
    ];
  }

  async repairNetwork(network: NetworkRecord): Promise<void> {
    await this.uplink.ensure(network);
    await this.bridge.repairNetwork(network);
    await this.links.attach(uplinkOf(network).link, bridgeOf(network));
  }

  /** Deleting the bridge takes the uplink off it; the interface itself stays as it was. */
  async removeNetwork(network: NetworkRecord): Promise<void> {
    await this.bridge.removeNetwork(network);
    await this.uplink.remove(network);
  }

  buildEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Step[] {
    return this.bridge.buildEndpoint(network, endpoint);
  }

  repairEndpoint(network: NetworkRecord, endpoint: EndpointRecord, links?: readonly Link[]): Promise<void> {
    return this.bridge.repairEndpoint(network, endpoint, links);
  }

  removeEndpoint(endpoint: EndpointRecord): Promise<void> {
    return this.bridge.removeEndpoint(endpoint);
  }

  networkIntact(network: NetworkRecord, links: ReadonlyMap<string, Link>): boolean {
    const { link } = uplinkOf(network);
    return (
      this.bridge.networkIntact(network, links) &&
      this.uplink.intact(network, links) &&
      links.get(link)?.master === bridgeOf(network)
    );
  }

  networkLinks(network: NetworkRecord): string[] {
    return [...this.bridge.networkLinks(network), ...this.uplink.linksOf(network)];
  }

  endpointView(network: NetworkRecord, endpoint: EndpointRecord, links: ReadonlyMap<string, Link>): EndpointView {
    return this.bridge.endpointView(network, endpoint, links);
  }
}
