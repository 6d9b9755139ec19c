// What the driver needs from outside it, declared here so that the parts that
// provide it (the cluster, Docker's API, the IPAM) depend on the driver and not
// the other way round.
import type { Cidr, IpAddress, IpPrefix } from '../net/ip.js';
import type { Guard, Operation } from '../store/store.js';
import type { Tunnel } from '../tunnel/tunnel.js';

/** A network spanning the cluster, as every host's Docker must create it. */
export interface ClusterNetworkSpec {
  readonly name: string;
  readonly internal: boolean;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** The `-o` options, tether.cluster included. */
  readonly options: Readonly<Record<string, string>>;
  readonly ipam: readonly {
    readonly subnet: string;
    readonly range?: string;
    readonly gateway?: string;
    readonly aux: Readonly<Record<string, string>>;
  }[];
}

/** An endpoint of a cluster network, as the other hosts must know it. */
export interface ClusterMember {
  readonly network: string;
  readonly id: string;
  readonly mac: string;
  /** Its addresses, without prefix length. */
  readonly addresses: readonly string[];
  /** Its labels, once known (policies on other hosts select it by them). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Its container's name, once known. */
  readonly name?: string;
  /** Its other names on the network (network aliases), once known. */
  readonly aliases?: readonly string[];
}

/** What the driver needs of the cluster (implemented by cluster/cluster.ts). */
export interface ClusterPort {
  readonly settings: { readonly vtep: string; readonly underlayMtu: number };
  /** What carries the cluster's networks between hosts. */
  readonly tunnel: Tunnel;
  /** Records the network cluster-wide, or checks it matches; returns its VNI and whether this call created it. */
  claimNetwork(spec: ClusterNetworkSpec): Promise<{ vni: number; created: boolean }>;
  dropNetwork(name: string): Promise<void>;
  /** Swarm's manager allocated a network (or replays it after a restart): its VNI, the same every time. */
  allocateSwarmNetwork(networkId: string, subnets: readonly string[]): Promise<number>;
  /** The VNI of a swarm network its manager allocated; undefined if none did. */
  swarmNetworkVni(networkId: string): Promise<number | undefined>;
  freeSwarmNetwork(networkId: string): Promise<void>;
  publish(member: ClusterMember): Promise<void>;
  /** The write that publishes the member, for a transaction of the caller's. */
  publication(member: ClusterMember): Operation;
  /** The write that withdraws an endpoint's member record, for a transaction of the caller's. */
  withdrawal(network: string, endpointId: string): Operation;
  requestOverlaySync(): void;
}

/** The store writes of addresses the IPAM handed out that wait for their endpoint's transaction. */
export interface AddressClaim {
  readonly guards: readonly Guard[];
  readonly operations: readonly Operation[];
  /**
   * After the endpoint's transaction: written; refused (another host holds an address); or unknown
   * (the store failed: written or not, Docker releases the addresses after the failed call).
   */
  settle(outcome: 'written' | 'refused' | 'unknown'): void;
}

/** What the driver needs of the IPAM's deferred writes (implemented by ipam/deferred.ts). */
export interface AddressClaims {
  claimFor(addresses: readonly IpAddress[]): AddressClaim;
}

/** What the driver needs of policy enforcement (implemented by policy/enforcer.ts). */
export interface PolicyPort {
  /** Before a deny network is made: throws, with the reason, where the kernel would let its traffic pass unjudged. */
  prepare(): Promise<void>;
  /**
   * Brings tether's policy table in line with the driver's state, less the endpoint `leaving` (one
   * being deleted, whose address leaves every set before its record goes); resolves once the kernel holds it.
   */
  sync(leaving?: string): Promise<void>;
  /** Where the kernel's policy table differs from what it should be, in words. */
  audit(): Promise<string[]>;
}

/** Reads what Docker says of joined endpoints' containers (implemented by services/container-reader.ts). */
export interface ContainerPort {
  /** An endpoint joined whose container is to be read (after this call: Docker waits on it). */
  joined(): void;
  /** Containers that could not be read (Docker failed), in words: the audit shows them. */
  failures(): string[];
}

/** Addresses for the host itself (the host shim) in pools of tether's IPAM (its local address space). */
export interface HostAddresses {
  /** An address of the subnet's pool, held by this host. */
  take(subnet: IpPrefix): Promise<Cidr>;
  release(subnet: IpPrefix, address: IpAddress): Promise<void>;
}

/** Frees an address tether's IPAM handed out for a container, when Docker never released it. */
export type ReleaseContainerAddress = (address: IpAddress) => Promise<boolean>;

/** The endpoints Docker holds on these networks; undefined when Docker cannot be asked. */
export type EndpointsDockerHolds = (networkIds: string[]) => Promise<ReadonlySet<string> | undefined>;
