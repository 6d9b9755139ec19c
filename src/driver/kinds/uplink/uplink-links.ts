// What both modes on a host interface share: the checks that keep the host's
// own traffic safe, and the VLAN sub-interface tether makes (and only that
// one: the host's interface is never created or removed, and a bridged uplink
// changes nothing of it but its master).
import type { Link, LinkPlane } from '../../../dataplane/dataplane.js';
import { invalidOption } from '../../../errors.js';
import type { NetworkRecord, UplinkRecord } from '../../records.js';
import type { Step } from '../../steps.js';
import { kindOf } from '../kind-of.js';
import { resolveUplink, type Uplink } from './allowed.js';

export interface UplinkModeConfig {
  /** Marks a link as this daemon's, followed by the network ID. */
  readonly ownerAlias: string;
  readonly uplinks: readonly Uplink[];
  /** Cluster mode: this host's tunnel address, whose interface the host needs for itself. */
  readonly vtep?: string;
}

export const uplinkOf = (network: NetworkRecord): UplinkRecord => {
  const { uplink } = kindOf(network);
  if (!uplink) throw new Error(`network ${network.id} is not on a host interface`);
  return uplink;
};

export class UplinkLinks {
  constructor(
    private readonly links: LinkPlane,
    private readonly config: UplinkModeConfig,
  ) {}

  /** Refuses an interface that is missing, down, tether's own, or the host's own (unless shared). */
  async check(network: NetworkRecord, enslaved: boolean): Promise<void> {
    const uplink = uplinkOf(network);
    const allowed = resolveUplink(this.config.uplinks, uplink.name);
    const links = await this.links.listLinks();
    const parent = links.find((l) => l.name === uplink.parent);
    const named = uplink.name === uplink.parent ? uplink.parent : `${uplink.parent} (uplink ${uplink.name})`;
    if (!parent) throw invalidOption(`interface ${named} does not exist on this host`);
    if (parent.alias?.startsWith('tether:')) throw invalidOption(`interface ${named} is one of tether's own`);
    if (!parent.up) throw invalidOption(`interface ${named} is down; bring it up first`);
    if (uplink.link.length > 15) throw invalidOption(`VLAN sub-interface name ${uplink.link} is over 15 characters`);
    const user = links.find((l) => l.name === uplink.link);
    if (enslaved && user?.master) throw invalidOption(`interface ${uplink.link} is already on ${user.master}`);
    if (allowed.shared) return;
    const hostOwn = `; list it as ${allowed.iface}:shared in --uplinks to allow it anyway`;
    if ((await this.links.defaultRouteLinks()).includes(parent.name)) {
      throw invalidOption(
        `interface ${named} carries the host's default route: a network on it could cut the host off${hostOwn}`,
      );
    }
    const vtep = this.config.vtep;
    if (vtep && parent.addresses.some((a) => a.split('/')[0] === vtep)) {
      throw invalidOption(`interface ${named} carries the cluster's tunnel address ${vtep}${hostOwn}`);
    }
    if (enslaved && user && user.addresses.length > 0) {
      throw invalidOption(
        `interface ${uplink.link} has addresses of the host's; on a bridge they would stop working${hostOwn}`,
      );
    }
  }

  /** The VLAN sub-interface, when the network has a tag. */
  steps(network: NetworkRecord): Step[] {
    if (uplinkOf(network).vlan === undefined) return [];
    return [
      { name: 'create the VLAN sub-interface', do: () => this.ensure(network), undo: () => this.remove(network) },
    ];
  }

  async ensure(network: NetworkRecord): Promise<void> {
    const { parent, vlan, link } = uplinkOf(network);
    if (vlan !== undefined) await this.links.ensureVlan({ name: link, parent, id: vlan, alias: this.alias(network) });
  }

  /** Deletes the sub-interface if tether made it for this network; one the operator made stays. */
  async remove(network: NetworkRecord): Promise<void> {
    const { vlan, link } = uplinkOf(network);
    if (vlan === undefined) return;
    const existing = (await this.links.listLinks()).find((l) => l.name === link);
    if (existing?.alias === this.alias(network)) await this.links.deleteLink(link);
  }

  intact(network: NetworkRecord, links: ReadonlyMap<string, Link>): boolean {
    const { link } = uplinkOf(network);
    return links.get(link)?.up === true;
  }

  linksOf(network: NetworkRecord): string[] {
    const { vlan, link } = uplinkOf(network);
    return vlan === undefined ? [] : [link];
  }

  alias(network: NetworkRecord): string {
    return this.config.ownerAlias + network.id;
  }
}
