// What the network driver keeps, one store key per network and endpoint. The
// store holds text (so that older state loads unchanged); each record is
// parsed once on the way in, into addresses and prefixes, and formatted on the
// way out. Nothing past this file parses an address again.
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

const cidr = parsed<Cidr>(parseCidr, 'an address in CIDR form');
const prefix = parsed<IpPrefix>(parsePrefix, 'a subnet');
const address = parsed<IpAddress>(parseIp, 'an IP address');

const storedNetwork = z.object({
  id: z.string(),
  bridge: z.string(),
  mtu: z.number().int(),
  internal: z.boolean(),
  /** Gateway addresses on the bridge, both families. */
  gateways: z.array(cidr),
  /** Masquerade traffic leaving the network (-o tether.nat). */
  nat: z.boolean().default(true),
  /** Addresses reserved with --aux-address. */
  auxAddresses: z.array(cidr).default([]),
  /** Subnets the network serves. */
  subnets: z.array(prefix),
  /**
   * A network spanning the cluster: its name there (a swarm network's: its swarm ID), its VNI, and
   * this host's VXLAN device for it.
   */
  cluster: z
    .object({ name: z.string(), vni: z.number().int(), vxlan: z.string(), swarm: z.boolean().optional() })
    .optional(),
  /** -o tether.policy=deny: endpoints are reached only as policies allow. */
  policy: z.literal('deny').optional(),
  /** A network on one of the host's interfaces (uplink-options.ts): no gateway of tether's, no NAT. */
  uplink: z
    .object({
      mode: z.enum(['macvlan', 'bridge']),
      /** As the option named it: an interface, or a logical name that --uplinks maps on each host. */
      name: z.string(),
      /** This host's interface. */
      parent: z.string(),
      vlan: z.number().int().optional(),
      /** Where the network attaches: the parent, or the VLAN sub-interface tether made on it. */
      link: z.string(),
      /** -o tether.host-shim=true: the host's own addresses on the network. */
      shim: z.array(cidr).optional(),
    })
    .optional(),
});
export type NetworkRecord = z.output<typeof storedNetwork>;

const storedPort = z.object({
  proto: z.enum(['tcp', 'udp']),
  /** "" for every address of the host. */
  hostIp: z.string().transform((text, ctx) => {
    if (text === '') return undefined;
    const value = parseIp(text);
    if (!value) ctx.addIssue({ code: 'custom', message: `stored "${text}" is not an IP address` });
    return value;
  }),
  hostPort: z.number().int(),
  containerIp: address,
  containerPort: z.number().int(),
});

/** What Docker says of an endpoint's container; no name when no Docker could be asked (a managed plugin). */
const containerRecord = z.object({
  name: z.string().optional(),
  /** The endpoint's other names on its network: network aliases (and the short ID Docker adds). */
  aliases: z.array(z.string()).optional(),
  labels: z.record(z.string(), z.string()),
});
export type ContainerRecord = z.infer<typeof containerRecord>;

const storedEndpoint = z.object({
  id: z.string(),
  networkId: z.string(),
  hostName: z.string(),
  peerName: z.string(),
  mac: z.string(),
  address: cidr.optional(),
  addressIpv6: cidr.optional(),
  /** When CreateEndpoint was answered (ms since the epoch). */
  createdAt: z.number().optional(),
  /** Host ports forwarded to this endpoint, set by ProgramExternalConnectivity. */
  ports: z.array(storedPort).default([]),
  /** Set by Join: from then on the peer lives in the container's namespace. */
  sandboxKey: z.string().optional(),
  /** When Join was answered (ms since the epoch): Docker moves the peer in some time after. */
  joinedAt: z.number().optional(),
  /** When Leave was answered: Docker's DeleteEndpoint follows, in seconds on a busy host. */
  leftAt: z.number().optional(),
  /** From the attachment's driver options, tether.label.KEY=VALUE. */
  labels: z.record(z.string(), z.string()).optional(),
  /** Read from Docker after Join (deny and cluster networks): the container's name, aliases and tether labels. */
  container: containerRecord.optional(),
});
export type EndpointRecord = Omit<z.output<typeof storedEndpoint>, 'ports'> & {
  readonly ports: readonly PublishedPort[];
};

export const parseNetwork = (text: string): NetworkRecord => storedNetwork.parse(JSON.parse(text));

export const parseEndpoint = (text: string): EndpointRecord => {
  const { ports, ...endpoint } = storedEndpoint.parse(JSON.parse(text));
  return { ...endpoint, ports: ports.map(({ hostIp, ...port }) => ({ ...port, ...(hostIp ? { hostIp } : {}) })) };
};

/** The network as the store keeps it, and as the operator API shows it. */
export const networkText = ({ uplink, ...n }: NetworkRecord) => ({
  ...n,
  gateways: n.gateways.map(formatCidr),
  auxAddresses: n.auxAddresses.map(formatCidr),
  subnets: n.subnets.map(formatPrefix),
  ...(uplink ? { uplink: uplinkText(uplink) } : {}),
});

const uplinkText = ({ shim, ...uplink }: NonNullable<NetworkRecord['uplink']>) => ({
  ...uplink,
  ...(shim ? { shim: shim.map(formatCidr) } : {}),
});

/** A cluster network's VXLAN device and VNI: none for a network on a host interface, whose LAN joins the hosts. */
export const overlayOf = (n: NetworkRecord) => (n.uplink ? undefined : n.cluster);

/** The addresses the host holds on the network: the gateways, or on a host interface its shim's. */
export const hostAddressesOf = (n: NetworkRecord): readonly Cidr[] => (n.uplink ? (n.uplink.shim ?? []) : n.gateways);

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
