// Networks on one of the host's own interfaces: containers sit on that LAN,
// whose router is their gateway. A spanning one crosses hosts on the LAN itself.
import { invalidOption } from '../../../errors.js';
import type { Cidr } from '../../../net/ip.js';
import type { CreateNetworkRequest } from '../../../protocol/network.js';
import { type NetworkRecord, TETHER_ADDRESS_SPACE } from '../../records.js';
import type { KindFacts } from '../facts.js';
import { resolveUplink, type Uplink } from './allowed.js';
import type { UplinkOptions } from './options.js';

type OnUplink = Extract<NetworkRecord['kind'], { type: 'macvlan' | 'bridged-uplink' }>;

const onUplink = (kind: OnUplink, what: string): Omit<KindFacts, 'broken'> => {
  const { uplink, span } = kind;
  return {
    label: `${what} on ${uplink.parent}${uplink.vlan ? `, VLAN ${uplink.vlan}` : ''}`,
    ...(span ? { span: { ...span, by: 'tether' } } : {}),
    uplink,
    hostAddresses: uplink.shim ?? [],
    lan: true,
    namesRoute: false,
  };
};

export const macvlanKind = (kind: Extract<OnUplink, { type: 'macvlan' }>, network: NetworkRecord): KindFacts => ({
  ...onUplink(kind, 'macvlan'),
  broken: `uplink ${kind.uplink.link} or host shim of network ${network.id.slice(0, 12)} is missing or down`,
});

export const bridgedUplinkKind = (
  kind: Extract<OnUplink, { type: 'bridged-uplink' }>,
  network: NetworkRecord,
): KindFacts => ({
  ...onUplink(kind, 'bridged uplink'),
  bridge: kind.bridge,
  broken:
    `bridge ${kind.bridge} of network ${network.id.slice(0, 12)} is missing or down, ` +
    `or uplink ${kind.uplink.link} is not on it`,
});

/** The sub-interface a VLAN tag asks for, or the parent itself. */
const uplinkLinkName = (parent: string, vlan: number | undefined): string =>
  vlan === undefined ? parent : `${parent}.${vlan}`;

/** The kind the options ask for, on this host's interface that --uplinks maps the name to. */
export function uplinkKindFor(
  request: CreateNetworkRequest,
  options: UplinkOptions,
  allowed: readonly Uplink[],
  bridge: string,
): OnUplink {
  const parent = resolveUplink(allowed, options.name).iface;
  const spaces = [...request.ipv4, ...request.ipv6].map((d) => d.addressSpace);
  if (options.hostShim && spaces.some((space) => space !== TETHER_ADDRESS_SPACE)) {
    throw invalidOption("tether.host-shim takes the host its address from tether's IPAM: add --ipam-driver tether");
  }
  const uplink = {
    name: options.name,
    parent,
    ...(options.vlan === undefined ? {} : { vlan: options.vlan }),
    link: uplinkLinkName(parent, options.vlan),
    // Taken when the network is created (Networks.create), one per subnet.
    ...(options.hostShim ? { shim: [] } : {}),
  };
  return options.kind === 'macvlan' ? { type: 'macvlan', uplink } : { type: 'bridged-uplink', bridge, uplink };
}

/** The network with these host shim addresses (a network with no shim stays as it is). */
export function withShim(network: NetworkRecord, shim: Cidr[]): NetworkRecord {
  const { kind } = network;
  if ((kind.type !== 'macvlan' && kind.type !== 'bridged-uplink') || !kind.uplink.shim) return network;
  return { ...network, kind: { ...kind, uplink: { ...kind.uplink, shim } } };
}
