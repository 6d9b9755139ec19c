// The host interfaces --uplinks allows, as the host has them now: for `tether
// status` and `tether doctor`, before a network on one is refused or after
// someone changed the interface under a network.
import type { LinkPlane } from '../../../dataplane/dataplane.js';
import type { NetworkRecord } from '../../records.js';
import { kindOf } from '../kind-of.js';
import type { Uplink } from './allowed.js';

export interface UplinkReport {
  readonly name: string;
  readonly iface: string;
  readonly shared: boolean;
  /** Networks on it (or on its VLAN sub-interfaces). */
  readonly networks: string[];
  /** The VLAN IDs those networks tag. */
  readonly vlans: number[];
  /** What keeps networks off it, if anything. */
  readonly problem?: string;
}

export async function reportUplinks(
  links: LinkPlane,
  uplinks: readonly Uplink[],
  networks: readonly NetworkRecord[],
): Promise<UplinkReport[]> {
  if (uplinks.length === 0) return [];
  const present = new Map((await links.listLinks()).map((l) => [l.name, l]));
  const defaults = await links.defaultRouteLinks();
  const facts = networks.map((n) => ({ id: n.id, ...kindOf(n) }));
  const bridges = new Set(facts.map((n) => n.bridge));
  return uplinks.map(({ name, iface, shared }) => {
    const link = present.get(iface);
    const on = facts.filter((n) => n.uplink?.parent === iface);
    const problem = !link
      ? 'does not exist on this host'
      : !link.up
        ? 'is down'
        : link.master && !bridges.has(link.master)
          ? `is on ${link.master}, which is not tether's`
          : !shared && defaults.includes(iface)
            ? "carries the host's default route: networks on it are refused unless it is listed as :shared"
            : undefined;
    const vlans = on.flatMap((n) => (n.uplink?.vlan === undefined ? [] : [n.uplink.vlan]));
    const ids = on.map((n) => n.id.slice(0, 12));
    return { name, iface, shared, networks: ids, vlans, ...(problem ? { problem } : {}) };
  });
}
