// Cluster mode: the hosts sharing one etcd. This facade is what the driver and
// the daemon see of it; the work is in membership.ts (who is alive, giving
// back the dead's), shared-networks.ts (networks and VNIs) and overlay.ts
// (where endpoints live, and the VXLAN entries programmed from that).
import type { Logger } from 'pino';
import type { ClusterMember, ClusterNetworkSpec, ClusterPort } from '../driver/seams.js';
import type { Leases, Operation, Store } from '../store/store.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { Membership, type MembershipDeps } from './membership.js';
import { type LocalClusterNetwork, Overlay } from './overlay.js';
import {
  type ClusterNetworkRecord,
  HOST_SCOPES,
  HOSTS,
  type HostRecord,
  hostRecord,
  KNOWN_MARK,
  MEMBERS,
  memberKey,
  memberRecord,
} from './records.js';
import type { ClusterSettings } from './settings.js';
import { SharedNetworks } from './shared-networks.js';

export interface ClusterView {
  readonly host: string;
  readonly vtep: string;
  readonly hosts: HostRecord[];
  /** Hosts that were members and no longer renew their registration: given back after the grace period. */
  readonly dead: (HostRecord & { since?: number })[];
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
}

export interface ClusterDeps {
  readonly store: Store;
  readonly leases: Leases;
  /** What carries the cluster's networks between the hosts. */
  readonly tunnel: Tunnel;
  readonly log: Logger;
  readonly forgetHost: MembershipDeps['forgetHost'];
  /** This host's networks that span the cluster, with their tunnel devices. */
  readonly localNetworks: () => LocalClusterNetwork[];
}

export class Cluster implements ClusterPort {
  readonly tunnel: Tunnel;
  private readonly overlay: Overlay;
  private readonly membership: Membership;
  private readonly shared: SharedNetworks;

  constructor(
    private readonly deps: ClusterDeps,
    readonly settings: ClusterSettings,
  ) {
    this.tunnel = deps.tunnel;
    this.overlay = new Overlay(deps, settings.host);
    this.membership = new Membership({ ...deps, hostsChanged: () => this.overlay.requestSync() }, settings);
    this.shared = new SharedNetworks(deps.store);
  }

  /**
   * Registers this host and follows the others. onRejoin is what to do after registering again, once
   * the registration was lost: the other hosts may have taken this one for dead and deleted its
   * records (see services/rejoin.ts).
   */
  async start(onRejoin: () => Promise<void>): Promise<void> {
    this.overlay.start();
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

  networks(): Promise<ClusterNetworkRecord[]> {
    return this.shared.list();
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

  /** Whether this host's registration lease is held now. */
  get registered(): boolean {
    return this.membership.registered;
  }

  /** A collection round: the overlay again, and a claim back that failed before. */
  catchUp(): void {
    this.overlay.requestSync();
    this.membership.catchUp();
  }

  /** What the cluster holds, for `tether cluster ls`: live hosts, and networks with their endpoints per host. */
  async view(): Promise<ClusterView> {
    const { store } = this.deps;
    const hosts = (await store.list(HOSTS)).map((e) => hostRecord.parse(JSON.parse(e.value)));
    const alive = new Set(hosts.map((h) => h.host));
    const dead = (await store.list(HOST_SCOPES))
      .filter((e) => e.key.endsWith(KNOWN_MARK))
      .map((e) => hostRecord.parse(JSON.parse(e.value)))
      .filter((h) => !alive.has(h.host))
      .map((h) => ({ ...h, ...this.membership.suspectedSince(h.host) }));
    const members = (await store.list(MEMBERS)).map((e) => {
      const [network = '', endpoint = ''] = e.key.slice(MEMBERS.length).split('/');
      return { network, endpoint, ...memberRecord.parse(JSON.parse(e.value)) };
    });
    const endpointsOf = (name: string) => {
      const endpoints: Record<string, number> = {};
      for (const m of members) if (m.network === name) endpoints[m.host] = (endpoints[m.host] ?? 0) + 1;
      return endpoints;
    };
    const networks = [
      ...(await this.networks()).map((n) => ({
        name: n.name,
        vni: n.vni,
        subnets: n.ipam.map((i) => i.subnet),
        endpoints: endpointsOf(n.name),
      })),
      ...(await this.shared.swarmList()).map((n) => ({
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
    const published = members.map(({ network, endpoint, host, mac, addresses, name }) => ({
      network,
      endpoint,
      host,
      mac,
      addresses,
      ...(name === undefined ? {} : { name }),
    }));
    return { host: this.settings.host, vtep: this.settings.vtep, hosts, dead, networks, names, members: published };
  }

  async close(): Promise<void> {
    this.overlay.close();
    await this.membership.close();
  }
}
