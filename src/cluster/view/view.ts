// One view of the cluster per host: the hosts, the networks and the members
// every host publishes, each prefix read once and then followed by watch
// (followed.ts), held parsed and indexed, and told to whoever follows it as
// changes. What a change costs a host is that change, whatever the cluster holds.
import type { Logger } from 'pino';
import { type IpAddress, sameIp } from '../../net/ip.js';
import { Followed, type ReadResult, type RecordChange } from '../../store/followed.js';
import type { Store } from '../../store/store.js';
import {
  type ClusterNetworkRecord,
  clusterNetworkRecord,
  HOSTS,
  type HostRecord,
  MEMBERS,
  NETWORKS,
  SWARM_NETWORKS,
  type SwarmNetworkRecord,
  swarmNetworkRecord,
} from '../records.js';
import { type Member, memberReader, readHost, readRecord } from './readers.js';

export type { Member } from './readers.js';

export interface ClusterViewDeps {
  readonly store: Store;
  readonly log: Logger;
  /** This host: its name, and its tunnel address, which no other host's endpoint may hold. */
  readonly host: string;
  readonly vtep: IpAddress;
}

/** What the view has counted since start, for the metrics. */
export interface ClusterViewStats {
  /** Records left out as unreadable, by prefix (each revision of a key once). */
  readonly skipped: Map<string, number>;
  /** Reads of a whole prefix: one each at start, one per lost watch. */
  readonly reads: () => number;
}

const addressKey = (network: string, ip: IpAddress) => `${network} ${ip.version}:${ip.value}`;

type Listener<T> = (now: T | undefined, before: T | undefined) => void;

export class ClusterView {
  private readonly hostRecords: Followed<HostRecord>;
  private readonly members: Followed<Member>;
  private readonly networkRecords: Followed<ClusterNetworkRecord>;
  private readonly swarmRecords: Followed<SwarmNetworkRecord>;
  /** The four, in the order they are read: networks first, so that members are checked against them. */
  private readonly prefixes: readonly Pick<Followed<unknown>, 'start' | 'close' | 'reads' | 'unreadable'>[];
  /** Network → endpoint → member. */
  private readonly byNetwork = new Map<string, Map<string, Member>>();
  /** Network and address ("web 4:167772162") → the member holding it. */
  private readonly byAddress = new Map<string, Member>();
  /** Host → member key → member. */
  private readonly byHost = new Map<string, Map<string, Member>>();
  private readonly memberListeners = new Set<Listener<Member>>();
  private readonly hostListeners = new Set<Listener<HostRecord>>();
  private readonly networkListeners = new Set<() => void>();
  readonly stats: ClusterViewStats;

  constructor(deps: ClusterViewDeps) {
    const skipped = new Map<string, number>();
    const follow = <T>(prefix: string, read: (key: string, value: string) => ReadResult<T>, changed: RecordChange<T>) =>
      new Followed<T>({
        store: deps.store,
        prefix,
        read,
        changed,
        log: deps.log,
        skipped: (key, why) => {
          skipped.set(prefix, (skipped.get(prefix) ?? 0) + 1);
          deps.log.warn({ key, why }, 'a record in the cluster store is unreadable; left out');
        },
      });
    const networksChanged = () => {
      for (const listener of this.networkListeners) listener();
    };
    this.networkRecords = follow<ClusterNetworkRecord>(
      NETWORKS,
      (_, value) => readRecord(clusterNetworkRecord, value),
      networksChanged,
    );
    this.swarmRecords = follow(SWARM_NETWORKS, (_, value) => readRecord(swarmNetworkRecord, value), networksChanged);
    this.hostRecords = follow(HOSTS, readHost, (_, now, before) => {
      for (const listener of this.hostListeners) listener(now, before);
    });
    const reader = memberReader({
      subnetsOf: (network) =>
        this.networkRecords.get(NETWORKS + network)?.ipam.map((i) => i.subnet) ??
        this.swarmRecords.get(SWARM_NETWORKS + network)?.subnets,
      local: (address) => sameIp(address, deps.vtep),
    });
    this.members = follow(MEMBERS, reader, (_, now, before) => this.memberChanged(now, before));
    this.prefixes = [this.networkRecords, this.swarmRecords, this.hostRecords, this.members];
    this.stats = { skipped, reads: () => this.prefixes.reduce((sum, f) => sum + f.reads, 0) };
  }

  /** Reads each prefix once, in order, and follows it. */
  async start(): Promise<void> {
    for (const followed of this.prefixes) await followed.start();
  }

  close(): void {
    for (const followed of this.prefixes) followed.close();
  }

  /** Calls the listener on each member added (before undefined), changed, or removed (now undefined). */
  onMember(listener: Listener<Member>): () => void {
    this.memberListeners.add(listener);
    return () => this.memberListeners.delete(listener);
  }

  /** Calls the listener on each host that registers (alive), changes, or whose registration goes (dead). */
  onHost(listener: Listener<HostRecord>): () => void {
    this.hostListeners.add(listener);
    return () => this.hostListeners.delete(listener);
  }

  /** Calls the listener when a cluster or swarm network's record comes, changes or goes. */
  onNetworks(listener: () => void): () => void {
    this.networkListeners.add(listener);
    return () => this.networkListeners.delete(listener);
  }

  host(name: string): HostRecord | undefined {
    return this.hostRecords.get(HOSTS + name);
  }

  liveHosts(): HostRecord[] {
    return [...this.hostRecords.records()].map(([, held]) => held.record);
  }

  /** The members of one network, of every host. */
  membersOf(network: string): Iterable<Member> {
    return this.byNetwork.get(network)?.values() ?? [];
  }

  /** The member of the network that holds the address. */
  holderOf(network: string, address: IpAddress): Member | undefined {
    return this.byAddress.get(addressKey(network, address));
  }

  /** One host's members, each with the revision its record had when read. */
  ownedBy(host: string): { member: Member; revision: number }[] {
    return [...(this.byHost.get(host)?.values() ?? [])].map((member) => ({
      member,
      revision: this.members.revisionOf(member.key) ?? 0,
    }));
  }

  /** Every member (for `tether cluster ls`). */
  allMembers(): Member[] {
    return [...this.members.records()].map(([, held]) => held.record);
  }

  clusterNetworks(): ClusterNetworkRecord[] {
    return [...this.networkRecords.records()].map(([, held]) => held.record);
  }

  swarmNetworks(): SwarmNetworkRecord[] {
    return [...this.swarmRecords.records()].map(([, held]) => held.record);
  }

  /** The records left out, with why (for `tether audit`). */
  unreadable(): { key: string; why: string }[] {
    return this.prefixes.flatMap((followed) => [...followed.unreadable].map(([key, { why }]) => ({ key, why })));
  }

  private memberChanged(now: Member | undefined, before: Member | undefined): void {
    if (before) {
      this.byNetwork.get(before.network)?.delete(before.endpoint);
      this.byHost.get(before.host)?.delete(before.key);
      for (const ip of before.ips) {
        const at = addressKey(before.network, ip);
        if (this.byAddress.get(at)?.key === before.key) this.byAddress.delete(at);
      }
    }
    if (now) {
      const network = this.byNetwork.get(now.network) ?? new Map<string, Member>();
      this.byNetwork.set(now.network, network.set(now.endpoint, now));
      const host = this.byHost.get(now.host) ?? new Map<string, Member>();
      this.byHost.set(now.host, host.set(now.key, now));
      for (const ip of now.ips) this.byAddress.set(addressKey(now.network, ip), now);
    }
    for (const listener of this.memberListeners) listener(now, before);
  }
}
