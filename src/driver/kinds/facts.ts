// What a network's kind says of it: every "which kind is this" question the
// driver, the firewall, the names service, the CLI and the dashboard ask, as
// one value each kind fills in (kinds/<kind>/kind.ts; kind-of.ts picks).
import type { Cidr } from '../../net/ip.js';
import type { UplinkRecord } from '../records.js';

export interface KindFacts {
  /** How the dashboard and `tether network ls` name it: "bridge", "swarm", "macvlan on eth1, VLAN 10"... */
  readonly label: string;
  /** The bridge its endpoints' veths are on; none for a macvlan network, whose endpoints are macvlans. */
  readonly bridge?: string;
  /** The network spans hosts under this name; `by`: who creates and removes it on each host. */
  readonly span?: { readonly name: string; readonly vni: number; readonly by: 'tether' | 'swarm' };
  /** The tunnel device that carries it between hosts; none where the LAN itself joins the hosts. */
  readonly tunnel?: { readonly device: string; readonly vni: number };
  /** The host interface it is on. */
  readonly uplink?: UplinkRecord;
  /** The addresses the host holds on it: the gateways, or on a host interface its shim's. */
  readonly hostAddresses: readonly Cidr[];
  /**
   * Its containers are on a LAN of the host's, whose router routes them: the firewall neither
   * isolates nor masquerades a bridge that carries one.
   */
  readonly lan: boolean;
  /**
   * Its internal networks give their containers a route to the names service over their own link
   * (a cluster network: other kinds have swarm's names, or a LAN with a router of its own).
   */
  readonly namesRoute: boolean;
  /** What the audit says when its kernel objects are not as recorded. */
  readonly broken: string;
}
