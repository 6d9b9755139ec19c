// Who may ask tether for names, and on which networks: a container of this
// host (tether's, by its endpoint's address, or one on another local bridge,
// such as Docker's own) or the host itself. Anyone else, such as a neighbour on
// the LAN sending to the service address, gets nothing back: tether is never an
// open resolver, nor a reflector for a forged source.

import type { Link } from '../dataplane/dataplane.js';
import { kindOf } from '../driver/kinds/kind-of.js';
import type { EndpointRecord, NetworkRecord } from '../driver/records.js';
import { contains, type IpAddress, type IpPrefix, parseCidr, parseIp, sameIp, subnetOf } from '../net/ip.js';
import type { Asker } from './answer.js';

export interface AskerDeps {
  /** The driver's networks and endpoints now. */
  readonly snapshot: () => { networks: NetworkRecord[]; endpoints: EndpointRecord[] };
  readonly links: () => Promise<Link[]>;
  readonly defaultRouteLinks: () => Promise<string[]>;
  /** The service's own address: the source of the host's own queries to it. */
  readonly address: string;
}

/** How long the host's bridges are taken as read: queries from Docker's own bridges are rare, bridges rarer. */
const BRIDGES_FRESH_MS = 10_000;

export class Askers {
  private bridges: { readonly subnets: IpPrefix[]; readonly at: number } | undefined;
  /** The reading under way, which every query meanwhile awaits instead of starting another. */
  private reading: Promise<IpPrefix[]> | undefined;
  /** The host itself: the usual loopback addresses, and the service address it sends from towards itself. */
  private readonly host: IpAddress[];

  constructor(private readonly deps: AskerDeps) {
    this.host = ['127.0.0.1', '::1', deps.address].flatMap((a) => parseIp(a) ?? []);
  }

  async of(source: IpAddress): Promise<Asker | undefined> {
    const own = this.endpointAsker(source);
    if (own) return own;
    if (this.host.some((a) => sameIp(a, source))) return { networks: [], mayForward: true };
    const bridges = await this.bridgeSubnets();
    return bridges.some((p) => contains(p, source)) ? { networks: [], mayForward: true } : undefined;
  }

  /** The host's bridges, read at most once per BRIDGES_FRESH_MS however many queries come: a flood spawns nothing. */
  private bridgeSubnets(): Promise<IpPrefix[]> {
    if (this.bridges && Date.now() - this.bridges.at < BRIDGES_FRESH_MS) return Promise.resolve(this.bridges.subnets);
    this.reading ??= this.readBridges()
      .then(
        (subnets) => {
          this.bridges = { subnets, at: Date.now() };
          return subnets;
        },
        // The last reading stands until the next try; a host whose links cannot be read admits no stranger.
        () => {
          this.bridges = { subnets: this.bridges?.subnets ?? [], at: Date.now() };
          return this.bridges.subnets;
        },
      )
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  /** A container of tether's: the cluster networks of every endpoint its sandbox has here. */
  private endpointAsker(source: IpAddress): Asker | undefined {
    const { networks, endpoints } = this.deps.snapshot();
    const asking = endpoints.find(
      (e) => e.sandboxKey !== undefined && [e.address, e.addressIpv6].some((a) => a && sameIp(a.address, source)),
    );
    if (!asking) return undefined;
    const byId = new Map(networks.map((n) => [n.id, n]));
    const joined = endpoints.flatMap((e) => {
      const network = e.sandboxKey === asking.sandboxKey ? byId.get(e.networkId) : undefined;
      return network ? [network] : [];
    });
    return {
      networks: joined.flatMap((n) => {
        const { span } = kindOf(n);
        return span?.by === 'tether' ? [span.name] : [];
      }),
      // A container on internal networks alone must not reach the world's names through tether.
      mayForward: joined.some((n) => !n.internal),
    };
  }

  /**
   * The subnets of the host's addresses on bridges that hold only containers: not the bridge of the
   * default route, and none with a host interface (a LAN) on it.
   */
  private async readBridges(): Promise<IpPrefix[]> {
    const [links, outward] = await Promise.all([this.deps.links(), this.deps.defaultRouteLinks()]);
    const carriesLan = new Set(
      links.filter((l) => l.master && (l.kind === '' || l.kind === 'vlan')).map((l) => l.master),
    );
    return links
      .filter((l) => l.kind === 'bridge' && !outward.includes(l.name) && !carriesLan.has(l.name))
      .flatMap((l) => l.addresses.flatMap((text) => parseCidr(text) ?? []).map((cidr) => subnetOf(cidr)));
  }
}
