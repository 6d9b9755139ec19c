// What the network driver keeps, one store key per network and endpoint. The
// store holds text (record-shapes.ts); each record is parsed once on the way
// in, into addresses and prefixes, and formatted on the way out. Nothing past
// this file parses an address again.
import { z } from 'zod';
import type { PublishedPort } from '../dataplane/dataplane.js';
import {
  type Cidr,
  formatCidr,
  formatIp,
  formatPrefix,
  type IpAddress,
  type IpPrefix,
  parseCidr,
  parseIp,
  parsePrefix,
} from '../net/ip.js';
import { upgradeNetwork } from './legacy-records.js';
import { recordShapes } from './record-shapes.js';

/** tether's IPAM's address space for networks of this host and the cluster (swarm's is 'global'). */
export const TETHER_ADDRESS_SPACE = 'local';

const parsed = <T>(parse: (text: string) => T | undefined, what: string) =>
  z.string().transform((text, ctx): T => {
    const value = parse(text);
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `stored "${text}" is not ${what}` });
      return z.NEVER;
    }
    return value;
  });

const address = parsed<IpAddress>(parseIp, 'an IP address');
const stored = recordShapes({
  cidr: parsed<Cidr>(parseCidr, 'an address in CIDR form'),
  prefix: parsed<IpPrefix>(parsePrefix, 'a subnet'),
  address,
  hostIp: z.union([z.literal('').transform(() => undefined), address]),
});

export type NetworkRecord = z.output<typeof stored.network>;
export type NetworkKind = NetworkRecord['kind'];
export type UplinkRecord = Extract<NetworkKind, { type: 'macvlan' }>['uplink'];
export type ContainerRecord = z.output<typeof stored.container>;
export type EndpointRecord = Omit<z.output<typeof stored.endpoint>, 'ports'> & {
  readonly ports: readonly PublishedPort[];
};

/** The network a stored text holds, and whether it was of an older shape (to be written back). */
export const readNetwork = (text: string): { network: NetworkRecord; upgraded: boolean } => {
  const { text: current, upgraded } = upgradeNetwork(JSON.parse(text));
  return { network: stored.network.parse(current), upgraded };
};

export const parseEndpoint = (text: string): EndpointRecord => {
  const { ports, ...endpoint } = stored.endpoint.parse(JSON.parse(text));
  return { ...endpoint, ports: ports.map(({ hostIp, ...port }) => ({ ...port, ...(hostIp ? { hostIp } : {}) })) };
};

/** The kind as text: a host interface's shim addresses formatted, the rest as it is. */
const kindText = (kind: NetworkKind) => {
  if (!('uplink' in kind)) return kind;
  const { shim, ...uplink } = kind.uplink;
  return { ...kind, uplink: { ...uplink, ...(shim ? { shim: shim.map(formatCidr) } : {}) } };
};

/** The network as the store keeps it, and as the operator API shows it. */
export const networkText = (n: NetworkRecord) => ({
  ...n,
  gateways: n.gateways.map(formatCidr),
  auxAddresses: n.auxAddresses.map(formatCidr),
  subnets: n.subnets.map(formatPrefix),
  kind: kindText(n.kind),
});

export const portText = (p: PublishedPort) => ({
  proto: p.proto,
  hostIp: p.hostIp ? formatIp(p.hostIp) : '',
  hostPort: p.hostPort,
  containerIp: formatIp(p.containerIp),
  containerPort: p.containerPort,
});

/** The endpoint as the store keeps it, and as the operator API shows it. */
export const endpointText = (e: EndpointRecord) => {
  const { address: v4, addressIpv6: v6, ports, ...rest } = e;
  return {
    ...rest,
    ...(v4 ? { address: formatCidr(v4) } : {}),
    ...(v6 ? { addressIpv6: formatCidr(v6) } : {}),
    ports: ports.map(portText),
  };
};

/** The labels policies select the endpoint by: undefined until its container's labels are known. */
export const knownLabels = (e: EndpointRecord): Record<string, string> | undefined =>
  e.container && { ...e.container.labels, ...e.labels };

/** The endpoint's addresses, IPv4 first. */
export const addressesOf = (e: EndpointRecord): Cidr[] => [e.address, e.addressIpv6].flatMap((a) => (a ? [a] : []));
