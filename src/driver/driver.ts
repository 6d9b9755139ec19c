// tether's network driver, as Docker calls it: this facade takes the lock of
// the network or endpoint each call is about, then hands the call to the part
// that owns it (networks, cluster networks, endpoints, publishing, upkeep).
import type { Logger } from 'pino';
import { invalidOption } from '../errors.js';
import type {
  AllocateNetworkRequest,
  Capabilities,
  CreateEndpointRequest,
  CreateNetworkRequest,
  DiscoveryRequest,
  EndpointRef,
  ExternalConnectivityRequest,
  GwAllocCheckRequest,
  JoinRequest,
  JoinResponse,
  NetworkDriver,
  NetworkRef,
} from '../protocol/network.js';
import { KeyedSerial } from '../util/serial.js';
import type { CreateEndpointReply, Endpoints } from './endpoints.js';
import type { ClusterNetworks } from './kinds/cluster/cluster-networks.js';
import { isSwarmNetworkId, type SwarmNetworks } from './kinds/swarm/swarm-networks.js';
import { membersOf } from './members.js';
import { type Networks, networkRecordFor } from './networks.js';
import { parseNetworkOptions } from './options.js';
import { buildDriverParts, type DriverConfig, type DriverDeps } from './parts.js';
import type { Publishing } from './publishing.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from './records.js';
import type { ClusterMember } from './seams.js';
import type { DriverState } from './state.js';
import type { Reconciled, Upkeep } from './upkeep.js';

export type { DriverConfig, DriverDeps } from './parts.js';

const networkKey = (id: string) => `network:${id}`;
const endpointKey = (id: string) => `endpoint:${id}`;

export class Driver implements NetworkDriver {
  private readonly locks = new KeyedSerial();
  private readonly state: DriverState;
  private readonly networks: Networks;
  private readonly clusterNetworks: ClusterNetworks;
  private readonly swarmNetworks: SwarmNetworks;
  private readonly endpoints: Endpoints;
  private readonly publishing: Publishing;
  private readonly upkeep: Upkeep;
  private readonly prefix: string;
  private readonly scope: 'local' | 'global';
  private readonly uplinks: DriverConfig['uplinks'];
  private readonly log: Logger;

  constructor(deps: DriverDeps, config: DriverConfig) {
    ({
      state: this.state,
      networks: this.networks,
      clusterNetworks: this.clusterNetworks,
      swarmNetworks: this.swarmNetworks,
      endpoints: this.endpoints,
      publishing: this.publishing,
      upkeep: this.upkeep,
    } = buildDriverParts(deps, config));
    this.prefix = config.prefix;
    this.scope = config.scope;
    this.uplinks = config.uplinks;
    this.log = deps.log;
  }

  capabilities(): Capabilities {
    return { Scope: this.scope, ConnectivityScope: this.scope, GwAllocChecker: true };
  }

  async gwAllocCheck(_request: GwAllocCheckRequest): Promise<{ SkipIPv4: boolean; SkipIPv6: boolean }> {
    // The gateway lives on the bridge for every tether network, internal ones included.
    return { SkipIPv4: false, SkipIPv6: false };
  }

  async createNetwork(request: CreateNetworkRequest): Promise<void> {
    const options = parseNetworkOptions(request.generic);
    const swarm = this.scope === 'global' && isSwarmNetworkId(request.networkId);
    const mtu = this.clusterNetworks.mtuFor({ ...options, spansHosts: swarm });
    const record = networkRecordFor(request, options, { prefix: this.prefix, mtu, uplinks: this.uplinks });
    const lock = networkKey(request.networkId);
    const name = options.cluster;
    if (swarm) return this.locks.run(lock, () => this.swarmNetworks.create(request, record));
    if (name === undefined) return this.locks.run(lock, () => this.networks.create(record));
    return this.clusterNetworks.whileCreating(name, () =>
      this.locks.run(lock, () => this.clusterNetworks.create(request, record, name)),
    );
  }

  deleteNetwork(request: NetworkRef): Promise<void> {
    return this.locks.run(networkKey(request.networkId), async () => {
      const network = this.state.networks.get(request.networkId);
      // Docker repeats deletes after errors; gone is gone.
      if (network) await this.networks.delete(network);
    });
  }

  /** Swarm's manager calls this (global scope only), at `docker network create` and at each of its starts. */
  async allocateNetwork(request: AllocateNetworkRequest): Promise<{ Options: Record<string, string> }> {
    // With local scope, swarm would give each node an IPAM of its own: the same address on two nodes.
    if (this.scope !== 'global') {
      throw invalidOption('swarm networks need tether with --scope global (TETHER_SCOPE=global) and etcd');
    }
    return this.locks.run(networkKey(request.networkId), () => this.swarmNetworks.allocate(request));
  }

  freeNetwork(request: NetworkRef): Promise<void> {
    return this.locks.run(networkKey(request.networkId), () => this.swarmNetworks.free(request));
  }

  createEndpoint(request: CreateEndpointRequest): Promise<CreateEndpointReply> {
    const record = this.endpoints.recordFor(request);
    return this.locks.run(endpointKey(record.id), () => this.endpoints.create(record, request.mac !== undefined));
  }

  async endpointOperInfo(request: EndpointRef): Promise<{ Value: Record<string, unknown> }> {
    return this.endpoints.operInfo(request);
  }

  deleteEndpoint(request: EndpointRef): Promise<void> {
    return this.locks.run(endpointKey(request.endpointId), async () => {
      const endpoint = this.state.endpoints.get(request.endpointId);
      if (endpoint) await this.endpoints.remove(endpoint);
    });
  }

  join(request: JoinRequest): Promise<JoinResponse> {
    return this.locks.run(endpointKey(request.endpointId), () => this.endpoints.join(request));
  }

  leave(request: EndpointRef): Promise<void> {
    return this.locks.run(endpointKey(request.endpointId), () => this.endpoints.leave(request));
  }

  programExternalConnectivity(request: ExternalConnectivityRequest): Promise<void> {
    return this.locks.run(endpointKey(request.endpointId), () => this.publishing.program(request));
  }

  revokeExternalConnectivity(request: EndpointRef): Promise<void> {
    return this.locks.run(endpointKey(request.endpointId), () => this.publishing.revoke(request));
  }

  async discoverNew(request: DiscoveryRequest): Promise<void> {
    this.log.debug({ discovery: request.type }, 'discovery event ignored: tether does not use swarm node discovery');
  }

  async discoverDelete(request: DiscoveryRequest): Promise<void> {
    return this.discoverNew(request);
  }

  /** This host's networks that span the cluster, those being created included. */
  clusterNetworkList(): { name: string; networkId?: string; device?: string }[] {
    return this.clusterNetworks.list();
  }

  /** Joined endpoints of deny and cluster networks whose container is not read yet. */
  awaitingContainer(): EndpointRecord[] {
    return this.endpoints.awaitingContainer();
  }

  /** What Docker says of an endpoint's container: its name and aliases for names, its labels for policies. */
  recordContainer(endpointId: string, container: ContainerRecord): Promise<void> {
    return this.locks.run(endpointKey(endpointId), () => this.endpoints.recordContainer(endpointId, container));
  }

  /** This host's endpoints on cluster networks, as the cluster publishes them. */
  clusterMembers(): ClusterMember[] {
    return membersOf(this.state);
  }

  /**
   * Writes every network and endpoint to the store again, after the other hosts of a cluster deleted
   * them, taking this host for dead while it was only cut off.
   */
  async rewriteRecords(): Promise<void> {
    for (const id of this.state.networks.keys()) {
      await this.locks.run(networkKey(id), async () => {
        const network = this.state.networks.get(id);
        if (network) await this.state.persist({ type: 'putNetwork', network });
      });
    }
    for (const id of this.state.endpoints.keys()) {
      await this.locks.run(endpointKey(id), async () => {
        const endpoint = this.state.endpoints.get(id);
        if (endpoint) await this.state.persist({ type: 'putEndpoint', endpoint });
      });
    }
  }

  snapshot(): { networks: NetworkRecord[]; endpoints: EndpointRecord[] } {
    return this.state.snapshot();
  }

  /** The start-up repair (see Upkeep.reconcile). */
  reconcile(): Promise<Reconciled> {
    return this.upkeep.reconcile((candidates) => this.free(candidates));
  }

  /** A collection round: frees endpoints whose container is gone, asking Docker first. */
  async freeGoneEndpoints(): Promise<number> {
    await this.upkeep.releaseAddresses();
    return this.free(await this.upkeep.goneEndpoints(true));
  }

  private async free(candidates: readonly EndpointRecord[]): Promise<number> {
    let freed = 0;
    for (const candidate of candidates) {
      if (await this.locks.run(endpointKey(candidate.id), () => this.upkeep.freeIfUnchanged(candidate))) freed++;
    }
    return freed;
  }

  audit(): Promise<string[]> {
    return this.upkeep.audit();
  }

  /** Where the firewall's rules differ from those of the networks, in words. */
  verifyFirewall(): Promise<string[]> {
    return this.upkeep.verifyFirewall();
  }
}
