// Who is where, for DNS: the names (container names and network aliases) of
// every endpoint of the cluster's networks, indexed from the cluster view as
// its members come and go. An endpoint of a host whose registration has lapsed
// is left out at once, as the overlay leaves out its tunnel entries: a dead
// host's names stop resolving when its lease ends, before its records are given back.
import type { ClusterView, Member } from '../cluster/view/view.js';
import type { IpAddress } from '../net/ip.js';

/** One endpoint's entry: where its addresses came from. */
export interface NamedEndpoint {
  readonly network: string;
  readonly id: string;
  readonly host: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly addresses: readonly IpAddress[];
}

/** DNS compares names without case; Docker's own resolver does too. */
const key = (name: string) => name.toLowerCase();

const namedOf = (member: Member): NamedEndpoint | undefined =>
  member.name === undefined
    ? undefined
    : {
        network: member.network,
        id: member.endpoint,
        host: member.host,
        name: member.name,
        aliases: member.aliases ?? [],
        addresses: member.ips,
      };

const namesOf = (endpoint: NamedEndpoint) => new Set([endpoint.name, ...endpoint.aliases].map(key));

export class NameBook {
  /** Network → name → the endpoints answering to it. */
  private readonly byName = new Map<string, Map<string, NamedEndpoint[]>>();
  private unwatch: () => void = () => undefined;

  constructor(private readonly view: ClusterView) {}

  /** Indexes the view's members, and follows them. */
  start(): void {
    for (const member of this.view.allMembers()) this.add(namedOf(member));
    this.unwatch = this.view.onMember((now, before) => {
      this.remove(before && namedOf(before));
      this.add(now && namedOf(now));
    });
  }

  /** The live hosts' endpoints answering to the name on one of the networks; none if the name is not the cluster's. */
  find(networks: readonly string[], name: string): NamedEndpoint[] {
    return networks.flatMap((network) => this.byName.get(network)?.get(key(name)) ?? []).filter((e) => this.alive(e));
  }

  /** The endpoint of a live host that holds the address on one of the networks (for reverse lookups). */
  holder(networks: readonly string[], address: IpAddress): NamedEndpoint | undefined {
    for (const network of networks) {
      const member = this.view.holderOf(network, address);
      const named = member && namedOf(member);
      if (named && this.alive(named)) return named;
    }
    return undefined;
  }

  close(): void {
    this.unwatch();
  }

  private alive(endpoint: NamedEndpoint): boolean {
    return this.view.host(endpoint.host) !== undefined;
  }

  private add(endpoint: NamedEndpoint | undefined): void {
    if (!endpoint) return;
    const names = this.byName.get(endpoint.network) ?? new Map<string, NamedEndpoint[]>();
    this.byName.set(endpoint.network, names);
    for (const name of namesOf(endpoint)) {
      const holders = names.get(name);
      if (holders) holders.push(endpoint);
      else names.set(name, [endpoint]);
    }
  }

  private remove(endpoint: NamedEndpoint | undefined): void {
    const names = endpoint && this.byName.get(endpoint.network);
    if (!endpoint || !names) return;
    for (const name of namesOf(endpoint)) {
      const left = (names.get(name) ?? []).filter((e) => e.id !== endpoint.id);
      if (left.length) names.set(name, left);
      else names.delete(name);
    }
  }
}
