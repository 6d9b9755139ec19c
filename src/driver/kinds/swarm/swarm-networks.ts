// Swarm's networks (--scope global), known by their swarm ID, the same on
// every node. Swarm's manager allocates one (AllocateNetwork: a VNI recorded
// in the cluster, and the options handed back for every node) and frees it;
// each node's CreateNetwork then builds its part, as for a cluster network.
// The record and VNI belong to swarm: a node removing its part leaves them.
import { invalidOption, notFound } from '../../../errors.js';
import { formatPrefix } from '../../../net/ip.js';
import type { AllocateNetworkRequest, CreateNetworkRequest, NetworkRef } from '../../../protocol/network.js';
import { tunnelName } from '../../naming.js';
import type { Networks } from '../../networks.js';
import { CLUSTER_KEY, parseNetworkOptions } from '../../options.js';
import type { NetworkRecord } from '../../records.js';
import type { ClusterPort } from '../../seams.js';
import type { ClusterNetworks } from '../cluster/cluster-networks.js';
import { bridgeOf } from '../kind-of.js';

/** Docker's own networks have 64 hex digits for an ID; swarm's have 25 letters and digits. */
export const isSwarmNetworkId = (id: string) => !/^[0-9a-f]{64}$/.test(id);

export class SwarmNetworks {
  constructor(
    private readonly networks: Networks,
    private readonly clusterNetworks: ClusterNetworks,
    private readonly prefix: string,
    private readonly cluster: ClusterPort | undefined,
  ) {}

  /**
   * On the manager, at `docker network create` and again at each of its starts. The options come
   * back to every node's CreateNetwork only through the answer, so they are handed back whole.
   */
  async allocate(request: AllocateNetworkRequest): Promise<{ Options: Record<string, string> }> {
    const options = parseNetworkOptions(request.options);
    if (options.cluster !== undefined) {
      throw invalidOption(`option ${CLUSTER_KEY}: a swarm network spans the swarm already; leave it out`);
    }
    // Checked here, a bad MTU fails `docker network create`; each node checks it against its own underlay.
    this.clusterNetworks.mtuFor({ ...options, spansHosts: true });
    await this.port().allocateSwarmNetwork(
      request.networkId,
      request.ipv4.map((d) => formatPrefix(d.pool)),
    );
    return { Options: { ...request.options } };
  }

  async free(request: NetworkRef): Promise<void> {
    await this.port().freeSwarmNetwork(request.networkId);
  }

  /** A node's part: its bridge and tunnel device, with the VNI the manager's allocation recorded. */
  async create(request: CreateNetworkRequest, record: NetworkRecord): Promise<void> {
    const cluster = this.port();
    const vni = await cluster.swarmNetworkVni(request.networkId);
    if (vni === undefined) {
      throw notFound(
        `swarm network ${request.networkId} is not in the cluster store: the manager's tether records it ` +
          'when swarm allocates it, so every node must use the same --store',
      );
    }
    const device = tunnelName(this.prefix, record.id);
    await this.networks.create({
      ...record,
      kind: { type: 'swarm', bridge: bridgeOf(record), name: record.id, vni, device },
    });
    cluster.requestOverlaySync();
  }

  private port(): ClusterPort {
    if (!this.cluster) throw invalidOption('swarm networks need --scope global and --store etcd://...');
    return this.cluster;
  }
}
