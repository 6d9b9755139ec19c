// Cluster mode: the hosts sharing one etcd. This facade is what the driver and
// the daemon see of it; the work is in membership.ts (who is alive, giving
// back the dead's), shared-networks.ts (networks and VNIs) and overlay.ts
// (where endpoints live, and the VXLAN entries programmed from that).
import type { Logger } from 'pino';
import type { ClusterMember, ClusterNetworkSpec, ClusterPort } from '../driver/seams.js';
import { parseIp } from '../net/ip.js';
import type { Leases, Operation, Store } from '../store/store.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { Membership, type MembershipDeps } from './membership.js';
import { type LocalClusterNetwork, Overlay } from './overlay.js';
import { type ClusterNetworkRecord, type HostRecord, memberKey } from './records.js';
import type { ClusterSettings } from './settings.js';
import { SharedNetworks } from './shared-networks.js';
import { ClusterView } from './view/view.js';

/** What the cluster holds, for `tether cluster ls` and the dashboard. */
export interface ClusterReport {
  readonly host: string;
  readonly vtep: string;
  readonly hosts: HostRecord[];
  /** Hosts that were members and no longer renew their registration: given back after the grace period. */
  readonly dead: { host: string; vtep?: string; startedAt?: number; since: number }[];
  /** Each network with its endpoints counted per host. */
  readonly networks: {
    name: string;
    vni: number;
    subnets: string[];
    endpoints: Record<string, number>;
    /** A swarm network, named by its swarm ID. */
    swarm?: boolean;
  }[];
  /** The named endpoints: what the hosts answer DNS with. */
  readonly names: { network: string; host: string; name: string; aliases: string[]; addresses: string[] }[];
  /** Every endpoint the hosts publish. */
  readonly members: {
    network: string;
    endpoint: string;
    host: string;
    mac: string;
    addresses: string[];
    name?: string;
  }[];
  /** Records of the cluster store left out as unreadable, with why. */
  readonly unreadable: { key: string; why: string }[];
}

export interface ClusterStats {
  /** Records left out as unreadable, by prefix: each revision of a key once. */
  readonly skipped: ReadonlyMap<string, number>;
  /** Reads of a whole prefix of the cluster store: one per prefix at start, one per lost watch. */
  readonly reads: number;
  /** Tunnel entries the anti-entropy rounds found wrong and put right. */
  readonly overlayRepairs: number;
}

export interface ClusterDeps {
  readonly store: Store;
  readonly leases: Leases;
  /** What carries the cluster's networks between the hosts. */
  readonly tunnel: Tunnel;
  readonly log: Logger;
  readonly forgetHost: MembershipDeps['forgetHost'];
  readonly remember: MembershipDeps['remember'];
  /** This host's networks that span the cluster, with their tunnel devices. */
  readonly localNetworks: () => LocalClusterNetwork[];
}

export class Cluster implements ClusterPort {
  readonly tunnel: Tunnel;
  /** The cluster's records as this host follows them. */
  readonly view: ClusterView;
  private readonly overlay: Overlay;
  private readonly membership: Membership;
  private readonly shared: SharedNetworks;

  constructor(
    deps: ClusterDeps,
    readonly settings: ClusterSettings,
  ) {
    this.tunnel = deps.tunnel;
    const vtep = parseIp(settings.vtep);
    if (!vtep) throw new Error(`the tunnel address ${settings.vtep} is not an IP address`);
    this.view = new ClusterView({ store: deps.store, log: deps.log, host: settings.host, vtep });
    this.overlay = new Overlay({ ...deps, view: this.view }, settings.host);
    this.membership = new Membership({ ...deps, view: this.view }, settings);
    this.shared = new SharedNetworks(deps.store);
  }

  /** Reads the cluster's records and follows them: before anything else asks the view. */
  async follow(): Promise<void> {
    await this.view.start();
    this.overlay.start();
  }

  /**
   * Registers this host and follows the others. onRejoin is what to do after registering again, once
   * the registration was lost: the other hosts may have taken this one for dead and deleted its
   * records (see services/rejoin.ts).
   */
  async start(onRejoin: () => Promise<void>): Promise<void> {
    await this.membership.start(onRejoin);
  }

  claimNetwork(spec: ClusterNetworkSpec): Promise<{ vni: number; created: boolean }> {
    return this.shared.claim(spec);
  }

  dropNetwork(name: string): Promise<void> {
    return this.shared.drop(name);
  }

  allocateSwarmNetwork(networkId: string, subnets: readonly string[]): Promise<number> {
    return this.shared.allocateSwarm(networkId, subnets);
  }

  swarmNetworkVni(networkId: string): Promise<number | undefined> {
    return this.shared.swarmVni(networkId);
  }

  freeSwarmNetwork(networkId: string): Promise<void> {
    return this.shared.freeSwarm(networkId);
  }

  /** The cluster's networks, as the view holds them. */
  async networks(): Promise<ClusterNetworkRecord[]> {
    return this.view.clusterNetworks();
  }

  publish(member: ClusterMember): Promise<void> {
    return this.overlay.publish(member);
  }

  publication(member: ClusterMember): Operation {
    return this.overlay.publication(member);
  }

  withdrawal(network: string, endpointId: string): Operation {
    return { type: 'delete', key: memberKey(network, endpointId) };
  }

  republish(own: readonly ClusterMember[]): Promise<void> {
    return this.overlay.republish(own);
  }

  requestOverlaySync(): void {
    this.overlay.requestSync();
  }

  /** What the view and the overlay have counted since start (metrics). */
  stats(): ClusterStats {
    return { skipped: this.view.stats.skipped, reads: this.view.stats.reads(), overlayRepairs: this.overlay.repairs };
  }

  /** Whether this host's registration lease is held now. */
  get registered(): boolean {
    return this.membership.registered;
  }

  /** A collection round: a claim back that failed before is tried again. */
  catchUp(): void {
    this.membership.catchUp();
  }

  /** What the cluster holds, for `tether cluster ls`: from the view, with no read of the store. */
  report(): ClusterReport {
    const { view } = this;
    const members = view.allMembers();
    const endpointsOf = (name: string) => {
      const endpoints: Record<string, number> = {};
      for (const m of view.membersOf(name)) endpoints[m.host] = (endpoints[m.host] ?? 0) + 1;
      return endpoints;
    };
    const networks = [
      ...view.clusterNetworks().map((n) => ({
        name: n.name,
        vni: n.vni,
        subnets: n.ipam.map((i) => i.subnet),
        endpoints: endpointsOf(n.name),
      })),
      ...view.swarmNetworks().map((n) => ({
        name: n.networkId,
        vni: n.vni,
        subnets: n.subnets,
        endpoints: endpointsOf(n.networkId),
        swarm: true,
      })),
    ];
    const names = members.flatMap((m) =>
      m.name === undefined
        ? []
        : [{ network: m.network, host: m.host, name: m.name, aliases: m.aliases ?? [], addresses: m.addresses }],
    );
    return {
      host: this.settings.host,
      vtep: this.settings.vtep,
      hosts: view.liveHosts(),
      dead: this.membership.dead().map(([host, { since, record }]) => ({ ...record, host, since })),
      networks,
      names,
      members: members.map(({ network, endpoint, host, mac, addresses, name }) => ({
        network,
        endpoint,
        host,
        mac,
        addresses,
        ...(name === undefined ? {} : { name }),
      })),
      unreadable: view.unreadable(),
    };
  }

  async close(): Promise<void> {
    this.overlay.close();
    await this.membership.close();
    this.view.close();
  }
}
