// Networks that span the cluster (-o tether.cluster=NAME): recorded in the
// cluster with a VNI before this host builds its part, and dropped from the
// cluster again if that fails. The MTU leaves room for the tunnel's headers.
import { conflict, invalidOption } from '../../../errors.js';
import { formatIp, formatPrefix, type IpPrefix } from '../../../net/ip.js';
import type { CreateNetworkRequest } from '../../../protocol/network.js';
import { tunnelName } from '../../naming.js';
import type { Networks } from '../../networks.js';
import type { NetworkOptions } from '../../options.js';
import { type NetworkKind, type NetworkRecord, TETHER_ADDRESS_SPACE } from '../../records.js';
import type { ClusterNetworkSpec, ClusterPort } from '../../seams.js';
import type { DriverState } from '../../state.js';
import { kindOf } from '../kind-of.js';

/** The ip-range of a pool tether's IPAM holds, to create the same network on other hosts. */
export type PoolRange = (addressSpace: string, subnet: IpPrefix) => IpPrefix | undefined;

export class ClusterNetworks {
  /** Cluster networks being created here, which the cluster must not create here through Docker too. */
  private readonly inCreation = new Set<string>();

  constructor(
    private readonly state: DriverState,
    private readonly networks: Networks,
    private readonly settings: { prefix: string; defaultMtu: number; poolRange: PoolRange },
    private readonly cluster: ClusterPort | undefined,
  ) {}

  /** The network's MTU: the option, or the default, within what the underlay leaves. */
  mtuFor(options: NetworkOptions & { spansHosts?: boolean }): number {
    // A network on a host interface crosses hosts on the LAN itself, with no tunnel's headers.
    if ((options.cluster === undefined && !options.spansHosts) || options.uplink)
      return options.mtu ?? this.settings.defaultMtu;
    const { settings, tunnel } = this.port();
    const room = settings.underlayMtu - tunnel.overhead;
    if (options.mtu !== undefined && options.mtu > room) {
      throw invalidOption(
        `MTU ${options.mtu} does not fit: the underlay's MTU is ${settings.underlayMtu} and ${tunnel.name} ` +
          `takes ${tunnel.overhead} bytes, so at most ${room}`,
      );
    }
    return options.mtu ?? Math.min(this.settings.defaultMtu, room);
  }

  /** Marks the name as being created here while the task runs (the task takes the network's lock). */
  async whileCreating<T>(name: string, task: () => Promise<T>): Promise<T> {
    this.inCreation.add(name);
    try {
      return await task();
    } finally {
      this.inCreation.delete(name);
    }
  }

  async create(request: CreateNetworkRequest, record: NetworkRecord, name: string): Promise<void> {
    const cluster = this.port();
    const data = [...request.ipv4, ...request.ipv6];
    if (data.some((d) => d.addressSpace !== TETHER_ADDRESS_SPACE)) {
      throw invalidOption(
        'a cluster network needs tether as its IPAM driver too (--ipam-driver), so that no address is handed out twice',
      );
    }
    const twin = [...this.state.networks.values()].find((n) => kindOf(n).span?.name === name && n.id !== record.id);
    if (twin) throw conflict(`cluster network ${name} is already on this host, as network ${twin.id.slice(0, 12)}`);
    const spec: ClusterNetworkSpec = {
      name,
      internal: request.internal,
      ipv4: request.ipv4.length > 0,
      ipv6: request.enableIpv6 || request.ipv6.length > 0,
      options: request.generic,
      ipam: data.map((d) => {
        const range = this.settings.poolRange(d.addressSpace, d.pool);
        return {
          subnet: formatPrefix(d.pool),
          ...(range ? { range: formatPrefix(range) } : {}),
          ...(d.gateway ? { gateway: formatIp(d.gateway.address) } : {}),
          aux: Object.fromEntries(Object.entries(d.auxAddresses).map(([key, cidr]) => [key, formatIp(cidr.address)])),
        };
      }),
    };
    const { vni, created } = await cluster.claimNetwork(spec);
    try {
      const device = tunnelName(this.settings.prefix, record.id);
      await this.networks.create({ ...record, kind: spanning(record.kind, { name, vni, device }) });
    } catch (error) {
      if (created) await cluster.dropNetwork(name).catch(() => undefined);
      throw error;
    }
    cluster.requestOverlaySync();
  }

  /** This host's networks that span the cluster, those being created included. */
  list(): { name: string; networkId?: string; device?: string }[] {
    // Swarm's networks are swarm's to create and remove on each node.
    const made = [...this.state.networks.values()].flatMap((n) => {
      const { span, tunnel } = kindOf(n);
      return span?.by === 'tether'
        ? [{ name: span.name, networkId: n.id, ...(tunnel ? { device: tunnel.device } : {}) }]
        : [];
    });
    const pending = [...this.inCreation].filter((name) => !made.some((n) => n.name === name)).map((name) => ({ name }));
    return [...made, ...pending];
  }

  private port(): ClusterPort {
    if (!this.cluster)
      throw invalidOption('option tether.cluster needs cluster mode (tether serve --store etcd://...)');
    return this.cluster;
  }
}

/** A network's kind once it spans the cluster: a bridge gets a tunnel; a host interface's LAN joins hosts itself. */
function spanning(kind: NetworkKind, span: { name: string; vni: number; device: string }): NetworkKind {
  switch (kind.type) {
    case 'bridge':
      return { type: 'cluster', bridge: kind.bridge, ...span };
    case 'macvlan':
    case 'bridged-uplink':
      return { ...kind, span: { name: span.name, vni: span.vni } };
    default:
      throw new Error(`a ${kind.type} network does not span the cluster twice`);
  }
}
