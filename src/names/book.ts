// Who is where, for DNS: the names (container names and network aliases) of
// every endpoint of the cluster's networks, from the member records the hosts
// publish in etcd. An endpoint of a host whose registration has lapsed is left
// out at once, as the overlay leaves out its tunnel entries: a dead host's
// names stop resolving when its lease ends, before its records are given back.
import type { Logger } from 'pino';
import { HOSTS, MEMBERS, memberRecord } from '../cluster/records.js';
import { type IpAddress, parseIp, sameIp } from '../net/ip.js';
import type { Store } from '../store/store.js';
import { Coalesced } from '../util/serial.js';

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

export class NameBook {
  /** Network → name → the endpoints answering to it. */
  private byName = new Map<string, Map<string, NamedEndpoint[]>>();
  private endpoints: NamedEndpoint[] = [];
  private readonly reload = new Coalesced(
    () => this.load(),
    (error) => this.log.warn({ err: error.message }, 'reading the cluster names failed; will retry'),
  );
  private readonly unwatch: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /**
   * Follows the members and the hosts' registrations; resolves once the first reading is in, or failed
   * (etcd away at start): the watches and the collection rounds read again.
   */
  async start(): Promise<void> {
    for (const prefix of [MEMBERS, HOSTS]) this.unwatch.push(this.store.watch(prefix, () => this.refresh()));
    await this.load().catch((error: Error) =>
      this.log.warn({ err: error.message }, 'reading the cluster names failed'),
    );
  }

  /** Reads everything again (a collection round: anything a watch missed while etcd was away). */
  refresh(): void {
    this.reload.request();
  }

  /** The endpoints answering to the name on one of the networks; none when the name is not the cluster's. */
  find(networks: readonly string[], name: string): NamedEndpoint[] {
    return networks.flatMap((network) => this.byName.get(network)?.get(key(name)) ?? []);
  }

  /** The endpoint that holds the address on one of the networks (for reverse lookups). */
  holder(networks: readonly string[], address: IpAddress): NamedEndpoint | undefined {
    return this.endpoints.find((e) => networks.includes(e.network) && e.addresses.some((a) => sameIp(a, address)));
  }

  /** Every named endpoint (for the operator's view). */
  all(): readonly NamedEndpoint[] {
    return this.endpoints;
  }

  close(): void {
    for (const stop of this.unwatch) stop();
  }

  private async load(): Promise<void> {
    const alive = new Set((await this.store.list(HOSTS)).map((e) => e.key.slice(HOSTS.length)));
    const endpoints: NamedEndpoint[] = [];
    for (const entry of await this.store.list(MEMBERS)) {
      const member = memberRecord.parse(JSON.parse(entry.value));
      if (!alive.has(member.host) || member.name === undefined) continue;
      const [network = '', id = ''] = entry.key.slice(MEMBERS.length).split('/');
      endpoints.push({
        network,
        id,
        host: member.host,
        name: member.name,
        aliases: member.aliases ?? [],
        addresses: member.addresses.flatMap((a) => parseIp(a) ?? []),
      });
    }
    const byName = new Map<string, Map<string, NamedEndpoint[]>>();
    for (const endpoint of endpoints) {
      const names = byName.get(endpoint.network) ?? new Map<string, NamedEndpoint[]>();
      byName.set(endpoint.network, names);
      for (const name of new Set([endpoint.name, ...endpoint.aliases].map(key))) {
        names.set(name, [...(names.get(name) ?? []), endpoint]);
      }
    }
    this.endpoints = endpoints;
    this.byName = byName;
  }
}
