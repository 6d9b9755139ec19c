// tether's network driver: a bridge per network, a veth pair per endpoint,
// firewall rules for isolation. The store is written before the kernel, so a
// crash between the two leaves a record the start-up reconcile can finish or
// undo, never a kernel object nobody knows about.
import type { Logger } from 'pino';
import type { ClusterNetworkRecord } from '../cluster/records.js';
import type { BridgeSpec, FirewallNetwork, Firewall, LinkPlane, PortKeeper, PublishedPort } from '../dataplane/dataplane.js';
import { conflict, invalidOption, notFound } from '../errors.js';
import { type IpAddress, type IpPrefix, contains, formatIp, formatPrefix, parseCidr, prefixOf, subnetContaining } from '../net/ip.js';
import type {
  AllocateNetworkRequest, Capabilities, CreateEndpointRequest, CreateNetworkRequest, DiscoveryRequest,
  EndpointRef, ExternalConnectivityRequest, GwAllocCheckRequest, JoinRequest, JoinResponse, NetworkDriver, NetworkRef, PortRequest,
} from '../protocol/network.js';
import { KeyedSerial, Serial } from '../util/serial.js';
import { LOCAL_SPACE as LOCAL_ADDRESS_SPACE } from '../ipam/ipam.js';
import { type Drift, describeDrift, findDrift } from './drift.js';
import { defaultBridgeName, macFor, vethHostName, vethPeerName, vxlanName } from './naming.js';
import { type NetworkOptions, parseNetworkOptions } from './options.js';
import { type DriverState, type EndpointRecord, type NetworkRecord } from './records.js';

export interface DriverConfig {
  /** Prefix of every interface name tether makes. */
  readonly prefix: string;
  /** Names this daemon in the aliases of its bridges (the plugin name). */
  readonly instance: string;
  readonly defaultMtu: number;
}

export interface DriverDeps {
  readonly state: DriverState;
  readonly links: LinkPlane;
  readonly firewall: Firewall;
  readonly ports: PortKeeper;
  readonly log: Logger;
  /** Frees an address tether's IPAM handed out for a container, when Docker never released it. */
  readonly releaseContainerAddress: (address: IpAddress) => Promise<boolean>;
  /** How long a container start may take between Docker's calls before its endpoint counts as abandoned (see findDrift). */
  readonly abandonGraceMs: number;
  /** The endpoints Docker holds on these networks; undefined when Docker cannot be asked. */
  readonly endpointsDockerHolds?: (networkIds: string[]) => Promise<ReadonlySet<string> | undefined>;
  /** The ip-range of a pool tether's IPAM holds, to create the same network on other hosts. */
  readonly poolRange: (addressSpace: string, subnet: IpPrefix) => string | undefined;
  /** Cluster mode: how networks spanning the cluster are shared. */
  readonly cluster?: ClusterPort;
}

/** What the driver needs of the cluster (see cluster/cluster.ts). */
export interface ClusterPort {
  readonly settings: { readonly vtep: string; readonly vxlanPort: number; readonly underlayMtu: number };
  /** Records the network cluster-wide, or checks it matches; returns its VNI and whether this call created it. */
  claimNetwork(record: Omit<ClusterNetworkRecord, 'vni'>): Promise<{ vni: number; created: boolean }>;
  dropNetwork(name: string): Promise<void>;
  publish(network: string, endpointId: string, mac: string, addresses: string[]): Promise<void>;
  withdraw(network: string, endpointId: string): Promise<void>;
  requestOverlaySync(): void;
}

/** IPv4 (20), UDP (8), VXLAN (8) and the inner Ethernet header (14); an IPv6 underlay adds 20. */
const vxlanOverhead = (vtep: string) => (vtep.includes(':') ? 70 : 50);

export class Driver implements NetworkDriver {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly locks = new KeyedSerial();
  private readonly firewallQueue = new Serial();
  /** Cluster networks being created here, which the cluster must not create here through Docker too. */
  private readonly clusterNamesInCreation = new Set<string>();

  private constructor(private readonly deps: DriverDeps, private readonly config: DriverConfig) {}

  static async open(deps: DriverDeps, config: DriverConfig): Promise<Driver> {
    const driver = new Driver(deps, config);
    for (const network of await deps.state.networks()) driver.networks.set(network.id, network);
    for (const endpoint of await deps.state.endpoints()) driver.endpoints.set(endpoint.id, endpoint);
    return driver;
  }

  get bridgeAlias(): string {
    return `tether:${this.config.instance}:`;
  }

  capabilities(): Capabilities {
    return { Scope: 'local', ConnectivityScope: 'local', GwAllocChecker: true };
  }

  async gwAllocCheck(_request: GwAllocCheckRequest): Promise<{ SkipIPv4: boolean; SkipIPv6: boolean }> {
    // The gateway lives on the bridge for every tether network, internal ones included.
    return { SkipIPv4: false, SkipIPv6: false };
  }

  async createNetwork(request: CreateNetworkRequest): Promise<void> {
    const options = parseNetworkOptions(request.generic);
    const bridge = options.bridge ?? defaultBridgeName(this.config.prefix, request.networkId);
    const data = [...request.ipv4, ...request.ipv6];
    const record: NetworkRecord = {
      id: request.networkId,
      bridge,
      mtu: this.mtuFor(options),
      internal: request.internal,
      nat: !request.internal && (options.nat ?? true),
      gateways: data.flatMap((d) => (d.gateway ? [d.gateway] : [])),
      auxAddresses: data.flatMap((d) => Object.values(d.auxAddresses)),
      subnets: data.map((d) => formatPrefix(d.pool)),
    };
    const clusterName = options.cluster;
    if (clusterName === undefined) return this.locks.run(`network:${request.networkId}`, () => this.createLocalNetwork(record));
    const cluster = this.clusterPort();
    if (data.some((d) => d.addressSpace !== LOCAL_ADDRESS_SPACE)) {
      throw invalidOption(`a cluster network needs tether as its IPAM driver too (--ipam-driver), so that no address is handed out twice`);
    }
    const plain = (cidr: string) => formatIp(parseCidr(cidr)?.address ?? { version: 4, value: 0n });
    const shared: Omit<ClusterNetworkRecord, 'vni'> = {
      name: clusterName,
      internal: request.internal,
      ipv6: request.enableIpv6 || request.ipv6.length > 0,
      options: request.generic,
      ipam: data.map((d) => {
        const range = this.deps.poolRange(d.addressSpace, d.pool);
        return {
          subnet: formatPrefix(d.pool),
          ...(range ? { range } : {}),
          ...(d.gateway ? { gateway: plain(d.gateway) } : {}),
          aux: Object.fromEntries(Object.entries(d.auxAddresses).map(([name, cidr]) => [name, plain(cidr)])),
        };
      }),
    };
    this.clusterNamesInCreation.add(clusterName);
    try {
      return await this.locks.run(`network:${request.networkId}`, async () => {
        const twin = [...this.networks.values()].find((n) => n.cluster?.name === clusterName && n.id !== request.networkId);
        if (twin) throw conflict(`cluster network ${clusterName} is already on this host, as network ${twin.id.slice(0, 12)}`);
        const { vni, created } = await cluster.claimNetwork(shared);
        const vxlan = vxlanName(this.config.prefix, request.networkId);
        try {
          await this.createLocalNetwork({ ...record, cluster: { name: clusterName, vni, vxlan } });
        } catch (error) {
          if (created) await cluster.dropNetwork(clusterName).catch(() => undefined);
          throw error;
        }
        cluster.requestOverlaySync();
      });
    } finally {
      this.clusterNamesInCreation.delete(clusterName);
    }
  }

  /** A cluster network's MTU leaves room for VXLAN's headers on the underlay. */
  private mtuFor(options: NetworkOptions): number {
    if (options.cluster === undefined) return options.mtu ?? this.config.defaultMtu;
    const { vtep, underlayMtu } = this.clusterPort().settings;
    const room = underlayMtu - vxlanOverhead(vtep);
    if (options.mtu !== undefined && options.mtu > room) {
      throw invalidOption(`MTU ${options.mtu} does not fit: the underlay's MTU is ${underlayMtu} and VXLAN takes ${vxlanOverhead(vtep)} bytes, so at most ${room}`);
    }
    return options.mtu ?? Math.min(this.config.defaultMtu, room);
  }

  private clusterPort(): ClusterPort {
    if (!this.deps.cluster) throw invalidOption('option tether.cluster needs cluster mode (tether serve --store etcd://...)');
    return this.deps.cluster;
  }

  private async createLocalNetwork(record: NetworkRecord): Promise<void> {
    const existing = this.networks.get(record.id);
    if (existing) {
      if (JSON.stringify(existing) !== JSON.stringify(record)) throw conflict(`network ${record.id} already exists with other settings`);
      return;
    }
    const { bridge } = record;
    const user = [...this.networks.values()].find((n) => n.bridge === bridge);
    if (user) throw conflict(`bridge ${bridge} is already used by network ${user.id.slice(0, 12)}`);
    const link = (await this.deps.links.listLinks()).find((l) => l.name === bridge);
    if (link) throw conflict(`an interface named ${bridge} already exists on the host; choose another bridge name`);

    if (!(await this.deps.state.createNetwork(record))) throw conflict(`network ${record.id} is being created concurrently`);
    this.networks.set(record.id, record);
    try {
      await this.deps.links.ensureBridge(this.bridgeSpec(record));
      await this.syncFirewall();
    } catch (error) {
      this.networks.delete(record.id);
      await this.deleteLinks(record).catch(() => undefined);
      await this.deps.state.deleteNetwork(record.id);
      await this.syncFirewall().catch(() => undefined);
      throw error;
    }
    this.deps.log.info({ network: record.id, bridge, subnets: record.subnets, internal: record.internal, cluster: record.cluster }, 'network created');
  }

  private async deleteLinks(network: NetworkRecord): Promise<void> {
    // A VXLAN device outlives its bridge; it goes on its own.
    if (network.cluster) await this.deps.links.deleteLink(network.cluster.vxlan);
    await this.deps.links.deleteLink(network.bridge);
  }

  private bridgeSpec(network: NetworkRecord): BridgeSpec {
    const { cluster } = this.deps;
    return {
      name: network.bridge, mtu: network.mtu, alias: this.bridgeAlias + network.id, addresses: network.gateways,
      ...(network.cluster && cluster ? {
        vxlan: { name: network.cluster.vxlan, vni: network.cluster.vni, local: cluster.settings.vtep, port: cluster.settings.vxlanPort },
      } : {}),
    };
  }

  async deleteNetwork(request: NetworkRef): Promise<void> {
    return this.locks.run(`network:${request.networkId}`, async () => {
      const network = this.networks.get(request.networkId);
      if (!network) return; // Docker repeats deletes after errors; gone is gone.
      for (const endpoint of this.endpoints.values()) {
        if (endpoint.networkId === network.id) await this.removeEndpoint(endpoint);
      }
      await this.deleteLinks(network);
      this.networks.delete(network.id);
      await this.deps.state.deleteNetwork(network.id);
      await this.syncFirewall();
      // Removed here, removed from the cluster: every other host removes it from its Docker.
      if (network.cluster) await this.deps.cluster?.dropNetwork(network.cluster.name);
      this.deps.log.info({ network: network.id, bridge: network.bridge }, 'network deleted');
    });
  }

  async allocateNetwork(_request: AllocateNetworkRequest): Promise<{ Options: Record<string, string> }> {
    // Swarm managers call this for global-scope drivers only; tether reports local scope, so
    // there is nothing to allocate cluster-wide and each node's CreateNetwork does the work.
    return { Options: {} };
  }

  async freeNetwork(_request: NetworkRef): Promise<void> {}

  async createEndpoint(request: CreateEndpointRequest): Promise<{ Interface?: { MacAddress?: string } }> {
    const network = this.network(request.networkId);
    for (const key of Object.keys(request.options)) {
      if (!key.startsWith('com.docker.')) throw invalidOption(`unknown endpoint option "${key}"`);
    }
    const v4 = request.address ? parseCidr(request.address)?.address : undefined;
    const v6 = request.addressIpv6 ? parseCidr(request.addressIpv6)?.address : undefined;
    for (const address of [v4, v6]) {
      if (address && !subnetContaining(network.subnets, address)) {
        throw invalidOption(`address ${formatIp(address)} is not in any subnet of network ${network.id.slice(0, 12)}`);
      }
    }
    const record: EndpointRecord = {
      id: request.endpointId,
      networkId: network.id,
      hostName: vethHostName(this.config.prefix, request.endpointId),
      peerName: vethPeerName(this.config.prefix, request.endpointId),
      mac: request.mac ?? macFor(v4 ?? v6),
      createdAt: Date.now(),
      ports: [],
      ...(request.address ? { address: request.address } : {}),
      ...(request.addressIpv6 ? { addressIpv6: request.addressIpv6 } : {}),
    };
    const reply = request.mac ? {} : { Interface: { MacAddress: record.mac } };
    return this.locks.run(`endpoint:${record.id}`, async () => {
      const existing = this.endpoints.get(record.id);
      if (existing) {
        // A retry after a lost reply: same endpoint, same answer.
        if (existing.address !== record.address || existing.addressIpv6 !== record.addressIpv6) {
          throw conflict(`endpoint ${record.id.slice(0, 12)} already exists with other addresses`);
        }
        return reply;
      }
      this.endpoints.set(record.id, record);
      await this.deps.state.putEndpoint(record);
      try {
        await this.deps.links.createVeth({
          hostName: record.hostName, peerName: record.peerName, bridge: network.bridge, mtu: network.mtu, mac: record.mac,
        });
        if (network.cluster) await this.deps.cluster?.publish(network.cluster.name, record.id, record.mac, plainAddresses(record));
      } catch (error) {
        this.endpoints.delete(record.id);
        await this.deps.links.deleteLink(record.hostName).catch(() => undefined);
        await this.deps.state.deleteEndpoint(record.id);
        throw error;
      }
      this.deps.log.debug({ endpoint: record.id, network: network.id, veth: record.hostName }, 'endpoint created');
      return reply;
    });
  }

  async endpointOperInfo(request: EndpointRef): Promise<{ Value: Record<string, unknown> }> {
    const endpoint = this.endpoint(request);
    return {
      Value: {
        HostInterface: endpoint.hostName,
        MacAddress: endpoint.mac,
        ...(endpoint.address ? { Address: endpoint.address } : {}),
        ...(endpoint.addressIpv6 ? { AddressIPv6: endpoint.addressIpv6 } : {}),
      },
    };
  }

  async deleteEndpoint(request: EndpointRef): Promise<void> {
    return this.locks.run(`endpoint:${request.endpointId}`, async () => {
      const endpoint = this.endpoints.get(request.endpointId);
      if (endpoint) await this.removeEndpoint(endpoint);
    });
  }

  private async removeEndpoint(endpoint: EndpointRecord): Promise<void> {
    const cluster = this.networks.get(endpoint.networkId)?.cluster;
    if (cluster) await this.deps.cluster?.withdraw(cluster.name, endpoint.id);
    for (const port of endpoint.ports) await this.releasePort(port);
    await this.deps.links.deleteLink(endpoint.hostName);
    this.endpoints.delete(endpoint.id);
    await this.deps.state.deleteEndpoint(endpoint.id);
    this.deps.log.debug({ endpoint: endpoint.id, veth: endpoint.hostName }, 'endpoint deleted');
  }

  async join(request: JoinRequest): Promise<JoinResponse> {
    return this.locks.run(`endpoint:${request.endpointId}`, async () => {
      const endpoint = this.endpoint(request);
      const network = this.network(request.networkId);
      const joined = { ...endpoint, sandboxKey: request.sandboxKey, joinedAt: Date.now() };
      await this.deps.state.putEndpoint(joined);
      this.endpoints.set(joined.id, joined);
      const response: JoinResponse = { InterfaceName: { SrcName: endpoint.peerName, DstPrefix: 'eth' } };
      if (network.internal) return response;
      const gateway = gatewayFor(network, endpoint.address);
      const gateway6 = gatewayFor(network, endpoint.addressIpv6);
      if (gateway) response.Gateway = gateway;
      if (gateway6) response.GatewayIPv6 = gateway6;
      return response;
    });
  }

  async leave(request: EndpointRef): Promise<void> {
    return this.locks.run(`endpoint:${request.endpointId}`, async () => {
      const known = this.endpoints.get(request.endpointId);
      if (!known) return; // Docker only logs Leave errors; a repeated Leave has nothing left to do.
      const { sandboxKey: _left, joinedAt: _at, ...endpoint } = known;
      await this.deps.state.putEndpoint(endpoint);
      this.endpoints.set(endpoint.id, endpoint);
    });
  }

  /** Publishes the endpoint's ports (-p, -P): holds each host port, then DNAT rules in one firewall sync. */
  programExternalConnectivity(request: ExternalConnectivityRequest): Promise<void> {
    return this.locks.run(`endpoint:${request.endpointId}`, async () => {
      const endpoint = this.endpoint(request);
      const network = this.network(request.networkId);
      const republished = endpoint.ports.length > 0;
      if (republished) await this.unpublish(endpoint);
      if (network.internal || request.ports.length === 0) {
        if (republished) await this.syncFirewall();
        return;
      }
      const published: PublishedPort[] = [];
      try {
        for (const binding of request.ports) published.push(...(await this.hold(endpoint, binding)));
      } catch (error) {
        for (const port of published) await this.releasePort(port);
        if (republished) await this.syncFirewall();
        throw error;
      }
      await this.saveEndpoint({ ...endpoint, ports: published });
      await this.syncFirewall();
      this.deps.log.info({ endpoint: endpoint.id, ports: published.map(describePort) }, 'ports published');
    });
  }

  /** Holds a host port for each address family the binding covers; a range takes its first free port. */
  private async hold(endpoint: EndpointRecord, binding: PortRequest): Promise<PublishedPort[]> {
    const proto = binding.proto === 6 ? 'tcp' : binding.proto === 17 ? 'udp' : undefined;
    if (!proto) throw invalidOption(`tether publishes TCP and UDP ports, not protocol ${binding.proto}`);
    const bindingFamily = binding.hostIp ? (binding.hostIp.includes(':') ? 6 : 4) : undefined;
    const targets = ([[4, endpoint.address], [6, endpoint.addressIpv6]] as const)
      .filter(([family, cidr]) => cidr && (bindingFamily === undefined || bindingFamily === family));
    if (targets.length === 0) throw invalidOption(`cannot publish on ${binding.hostIp}: the container has no address of that family`);
    const held: PublishedPort[] = [];
    try {
      for (const [family, cidr] of targets) {
        const containerIp = formatIp(parseCidr(cidr ?? '')?.address ?? { version: family, value: 0n });
        // Both families of one binding share the host port that the first one got.
        const first = held[0]?.hostPort ?? binding.hostPort;
        const last = held[0]?.hostPort ?? binding.hostPortEnd;
        const hostPort = await this.holdInRange(proto, binding.hostIp, first, last, family);
        held.push({ proto, hostIp: binding.hostIp, hostPort, containerIp, containerPort: binding.containerPort });
      }
    } catch (error) {
      for (const port of held) await this.releasePort(port);
      throw error;
    }
    return held;
  }

  private async holdInRange(proto: 'tcp' | 'udp', hostIp: string, first: number, last: number, family: 4 | 6): Promise<number> {
    for (let port = first; ; port++) {
      try {
        return await this.deps.ports.hold(proto, hostIp, port, family);
      } catch (error) {
        if (port >= last) throw error;
      }
    }
  }

  private releasePort(port: PublishedPort): Promise<void> {
    return this.deps.ports.release(port.proto, port.hostIp, port.hostPort, port.containerIp.includes(':') ? 6 : 4);
  }

  private async unpublish(endpoint: EndpointRecord): Promise<void> {
    for (const port of endpoint.ports) await this.releasePort(port);
    await this.saveEndpoint({ ...endpoint, ports: [] });
  }

  revokeExternalConnectivity(request: EndpointRef): Promise<void> {
    return this.locks.run(`endpoint:${request.endpointId}`, async () => {
      const endpoint = this.endpoints.get(request.endpointId);
      if (!endpoint || endpoint.ports.length === 0) return;
      await this.unpublish(endpoint);
      await this.syncFirewall();
    });
  }

  private async saveEndpoint(endpoint: EndpointRecord): Promise<void> {
    await this.deps.state.putEndpoint(endpoint);
    this.endpoints.set(endpoint.id, endpoint);
  }

  async discoverNew(request: DiscoveryRequest): Promise<void> {
    this.deps.log.debug({ discovery: request.type }, 'discovery event ignored: tether does not use swarm node discovery');
  }

  async discoverDelete(request: DiscoveryRequest): Promise<void> {
    return this.discoverNew(request);
  }

  /** The endpoint holding this address, if any. */
  endpointWith(address: IpAddress): EndpointRecord | undefined {
    const text = formatIp(address);
    for (const endpoint of this.endpoints.values()) {
      for (const cidr of [endpoint.address, endpoint.addressIpv6]) if (cidr?.startsWith(`${text}/`)) return endpoint;
    }
    return undefined;
  }

  /** This host's networks that span the cluster, those being created included. */
  clusterNetworks(): { name: string; networkId?: string; vxlan?: string }[] {
    const made = [...this.networks.values()].flatMap((n) => (n.cluster ? [{ name: n.cluster.name, networkId: n.id, vxlan: n.cluster.vxlan }] : []));
    return [...made, ...[...this.clusterNamesInCreation].filter((name) => !made.some((n) => n.name === name)).map((name) => ({ name }))];
  }

  /** This host's endpoints on cluster networks, as the cluster publishes them. */
  clusterEndpoints(): { network: string; id: string; mac: string; addresses: string[] }[] {
    return [...this.endpoints.values()].flatMap((e) => {
      const cluster = this.networks.get(e.networkId)?.cluster;
      return cluster ? [{ network: cluster.name, id: e.id, mac: e.mac, addresses: plainAddresses(e) }] : [];
    });
  }

  /**
   * Writes every network and endpoint to the store again, after the other hosts of a cluster deleted
   * them, taking this host for dead while it was only cut off.
   */
  async rewriteRecords(): Promise<void> {
    for (const id of this.networks.keys()) {
      await this.locks.run(`network:${id}`, async () => {
        const network = this.networks.get(id);
        if (network) await this.deps.state.createNetwork(network);
      });
    }
    for (const id of this.endpoints.keys()) {
      await this.locks.run(`endpoint:${id}`, async () => {
        const endpoint = this.endpoints.get(id);
        if (endpoint) await this.deps.state.putEndpoint(endpoint);
      });
    }
  }

  /** Networks and endpoints as the store holds them, for the operator API and the reconciler. */
  snapshot(): { networks: NetworkRecord[]; endpoints: EndpointRecord[] } {
    return { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()] };
  }

  /**
   * Brings the kernel in line with the store at start-up: missing bridges come back, endpoints whose
   * container vanished while tether was down are freed, links nobody owns are deleted.
   */
  async reconcile(): Promise<{ bridgesRepaired: number; endpointsFreed: number; linksRemoved: number }> {
    const log = this.deps.log;
    // Docker is not asked here: at start-up it may be waiting for tether itself.
    const endpointsFreed = await this.freeEndpoints((await this.drift()).goneEndpoints);
    const drift = await this.drift();
    for (const network of drift.brokenBridges) await this.deps.links.ensureBridge(this.bridgeSpec(network));
    for (const endpoint of drift.missingVeths) {
      const network = this.network(endpoint.networkId);
      await this.deps.links.createVeth({
        hostName: endpoint.hostName, peerName: endpoint.peerName, bridge: network.bridge, mtu: network.mtu, mac: endpoint.mac,
      });
    }
    for (const { endpoint, bridge } of drift.detachedVeths) await this.deps.links.attach(endpoint.hostName, bridge);
    for (const endpoint of this.endpoints.values()) {
      for (const port of endpoint.ports) {
        const family = port.containerIp.includes(':') ? 6 : 4;
        await this.deps.ports.hold(port.proto, port.hostIp, port.hostPort, family).catch((error: unknown) =>
          log.warn({ port: describePort(port), err: (error as Error).message }, 'a published port is taken by another process; its rules stay'));
      }
    }
    for (const name of drift.orphanLinks) {
      await this.deps.links.deleteLink(name);
      log.info({ link: name }, 'removed an interface no network or endpoint owns');
    }
    await this.syncFirewall();
    return { bridgesRepaired: drift.brokenBridges.length, endpointsFreed, linksRemoved: drift.orphanLinks.length };
  }

  /**
   * Frees joined endpoints whose container is gone although Docker never said so: it stopped while
   * tether was down, or Docker's retry of a DeleteEndpoint cut short by a crash arrived with an empty
   * body (Docker does not resend it). Run periodically (and at start, in reconcile); each endpoint is
   * freed under its lock, and only if it has not changed since it was judged.
   */
  async freeGoneEndpoints(): Promise<number> {
    const candidates = (await this.drift()).goneEndpoints;
    if (candidates.length === 0) return 0;
    // Where Docker can be asked, its word overrules the timing: on a loaded host a start can take
    // longer than the grace, and an endpoint Docker still holds is released by Docker itself.
    const held = await this.deps.endpointsDockerHolds?.([...new Set(candidates.map((e) => e.networkId))]);
    return this.freeEndpoints(candidates.filter((e) => !held?.has(e.id)));
  }

  private async freeEndpoints(candidates: readonly EndpointRecord[]): Promise<number> {
    let freed = 0;
    for (const candidate of candidates) {
      await this.locks.run(`endpoint:${candidate.id}`, async () => {
        const endpoint = this.endpoints.get(candidate.id);
        if (!endpoint || endpoint.sandboxKey !== candidate.sandboxKey) return;
        await this.removeEndpoint(endpoint);
        for (const cidr of [endpoint.address, endpoint.addressIpv6]) {
          const address = cidr ? parseCidr(cidr)?.address : undefined;
          if (address) await this.deps.releaseContainerAddress(address);
        }
        freed++;
        this.deps.log.info({ endpoint: endpoint.id, address: endpoint.address }, 'freed an endpoint whose container is gone');
      });
    }
    return freed;
  }

  /** Where the kernel differs from the store, links and firewall alike, in words. */
  async audit(): Promise<string[]> {
    return [...describeDrift(await this.drift()), ...(await this.deps.firewall.verify(this.firewallNetworks()))];
  }

  private async drift(): Promise<Drift> {
    const links = await this.deps.links.listLinks();
    return findDrift(this.networks, this.endpoints.values(), links, { prefix: this.config.prefix, bridgeAlias: this.bridgeAlias },
      { now: Date.now(), ms: this.deps.abandonGraceMs });
  }

  private firewallNetworks(): FirewallNetwork[] {
    const endpoints = [...this.endpoints.values()];
    return [...this.networks.values()].map((n) => ({
      bridge: n.bridge,
      internal: n.internal,
      nat: n.nat,
      subnets: n.subnets,
      ports: endpoints.filter((e) => e.networkId === n.id).flatMap((e) => e.ports),
    }));
  }

  private syncFirewall(): Promise<void> {
    return this.firewallQueue.run(() => this.deps.firewall.sync(this.firewallNetworks()));
  }

  private network(networkId: string): NetworkRecord {
    const network = this.networks.get(networkId);
    if (!network) throw notFound(`network ${networkId.slice(0, 12)} is not a tether network`);
    return network;
  }

  private endpoint(ref: EndpointRef): EndpointRecord {
    const endpoint = this.endpoints.get(ref.endpointId);
    if (!endpoint || endpoint.networkId !== ref.networkId) throw notFound(`endpoint ${ref.endpointId.slice(0, 12)} does not exist`);
    return endpoint;
  }
}

const describePort = (p: PublishedPort) =>
  `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}->${p.containerIp.includes(':') ? `[${p.containerIp}]` : p.containerIp}:${p.containerPort}/${p.proto}`;

const plainAddresses = (endpoint: EndpointRecord) =>
  [endpoint.address, endpoint.addressIpv6].flatMap((cidr) => (cidr ? [cidr.split('/')[0] ?? ''] : []));

/** The gateway of the subnet holding the address, as the plain IP Join must return. */
function gatewayFor(network: NetworkRecord, address: string | undefined): string | undefined {
  const ip = address ? parseCidr(address)?.address : undefined;
  if (!ip) return undefined;
  for (const gateway of network.gateways) {
    const cidr = parseCidr(gateway);
    if (cidr && contains(prefixOf(cidr.address, cidr.length), ip)) return formatIp(cidr.address);
  }
  return undefined;
}
