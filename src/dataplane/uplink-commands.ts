// The iproute2 commands for links on a host interface: an endpoint's or the
// host shim's macvlan, and a VLAN sub-interface. Built apart from running them
// so that tests check the commands where the kernel lacks a feature (802.1q).
import { formatCidr } from '../net/ip.js';
import type { Link, MacvlanSpec, VlanSpec } from './dataplane.js';

/** `ip` arguments that create a link on the parent with every attribute in one message. */
const addOn = (parent: string, name: string, attributes: string[], type: string[]) => [
  ...['link', 'add', 'link', parent, 'name', name],
  ...attributes,
  ...['type', ...type],
];

export const macvlanAdd = (spec: MacvlanSpec): string[] =>
  addOn(
    spec.parent,
    spec.name,
    ['mtu', String(spec.mtu), ...(spec.mac ? ['address', spec.mac] : [])],
    ['macvlan', 'mode', 'bridge'],
  );

/** What the macvlan still needs once it exists: its alias, the shim's addresses, and up for a shim. */
export function macvlanSettle(spec: MacvlanSpec, existing: Link | undefined): string[][] {
  const settle = [['link', 'set', 'dev', spec.name, 'alias', spec.alias, ...(spec.addresses.length ? ['up'] : [])]];
  for (const address of spec.addresses) {
    const text = formatCidr(address);
    if (existing?.addresses.includes(text)) continue;
    // nodad: the host answers on the network at once.
    settle.push(['address', 'replace', text, 'dev', spec.name, ...(address.address.version === 6 ? ['nodad'] : [])]);
  }
  return settle;
}

export const vlanAdd = (spec: VlanSpec): string[] => addOn(spec.parent, spec.name, [], ['vlan', 'id', String(spec.id)]);

export const vlanSettle = (spec: VlanSpec): string[] => ['link', 'set', 'dev', spec.name, 'alias', spec.alias, 'up'];

/** Why an existing link cannot serve as the spec's, or undefined when it can. */
export function mismatch(existing: Link, spec: { name: string; parent: string }, kind: string, vlan?: number) {
  if (existing.kind !== kind) return `${spec.name} exists and is not a ${kind} device`;
  if (existing.parent !== undefined && existing.parent !== spec.parent)
    return `${spec.name} exists on ${existing.parent}, not on ${spec.parent}`;
  if (vlan !== undefined && existing.vlan !== vlan)
    return `${spec.name} exists with VLAN ID ${existing.vlan}, not ${vlan}`;
  return undefined;
}
