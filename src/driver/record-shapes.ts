// The shapes of the driver's records, declared once. The store and the
// operator API hold them as JSON text; records.ts reads them with codecs that
// parse each address once, the operator contract (operator/contract.ts) with
// codecs that keep the text. A field added here appears in both.
import { z } from 'zod';

/** How a shape holds its addresses: as text, or parsed (each codec takes the text). */
export interface AddressCodecs<
  Cidr extends z.ZodType,
  Prefix extends z.ZodType,
  Address extends z.ZodType,
  HostIp extends z.ZodType,
> {
  readonly cidr: Cidr;
  readonly prefix: Prefix;
  readonly address: Address;
  /** A published port's host address: "" for every address of the host. */
  readonly hostIp: HostIp;
}

export function recordShapes<C extends z.ZodType, P extends z.ZodType, A extends z.ZodType, H extends z.ZodType>(
  codecs: AddressCodecs<C, P, A, H>,
) {
  const { cidr, prefix, address, hostIp } = codecs;

  /** A host interface the network is on (kinds/uplink/). */
  const uplink = z.object({
    /** As the option named it: an interface, or a logical name that --uplinks maps on each host. */
    name: z.string(),
    /** This host's interface. */
    parent: z.string(),
    vlan: z.number().int().optional(),
    /** Where the network attaches: the parent, or the VLAN sub-interface tether made on it. */
    link: z.string(),
    /** -o tether.host-shim=true: the host's own addresses on the network. */
    shim: z.array(cidr).optional(),
  });
  /** A network on a host interface that spans the cluster: the LAN joins the hosts, no tunnel. */
  const span = z.object({ name: z.string(), vni: z.number().int() });
  /** A network the tunnel carries between hosts: its name there, its VNI and this host's tunnel device. */
  const tunnelled = { bridge: z.string(), name: z.string(), vni: z.number().int(), device: z.string() };

  /** What a network is: each kind with its own data (kinds/). */
  const kind = z.discriminatedUnion('type', [
    z.object({ type: z.literal('bridge'), bridge: z.string() }),
    /** -o tether.cluster=NAME. */
    z.object({ type: z.literal('cluster'), ...tunnelled }),
    /** A swarm network (--scope global): its name is its swarm ID. */
    z.object({ type: z.literal('swarm'), ...tunnelled }),
    /** -o tether.parent=IFACE: a macvlan per endpoint, no bridge. */
    z.object({ type: z.literal('macvlan'), uplink, span: span.optional() }),
    /** -o tether.uplink=IFACE: the network's bridge with the interface on it. */
    z.object({ type: z.literal('bridged-uplink'), bridge: z.string(), uplink, span: span.optional() }),
  ]);

  const network = z.object({
    id: z.string(),
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
    /** -o tether.policy=deny: endpoints are reached only as policies allow. */
    policy: z.literal('deny').optional(),
    kind,
  });

  const port = z.object({
    proto: z.enum(['tcp', 'udp']),
    hostIp,
    hostPort: z.number().int(),
    containerIp: address,
    containerPort: z.number().int(),
  });

  /** What Docker says of an endpoint's container; no name when no Docker could be asked (a managed plugin). */
  const container = z.object({
    name: z.string().optional(),
    /** The endpoint's other names on its network: network aliases (and the short ID Docker adds). */
    aliases: z.array(z.string()).optional(),
    labels: z.record(z.string(), z.string()),
  });

  const endpoint = z.object({
    id: z.string(),
    networkId: z.string(),
    /** A veth's host end; none for a macvlan, whose one interface goes into the container. */
    hostName: z.string().optional(),
    /** The interface Docker moves into the container. */
    peerName: z.string(),
    mac: z.string(),
    address: cidr.optional(),
    addressIpv6: cidr.optional(),
    /** When CreateEndpoint was answered (ms since the epoch). */
    createdAt: z.number().optional(),
    /** Host ports forwarded to this endpoint, set by ProgramExternalConnectivity. */
    ports: z.array(port).default([]),
    /** Set by Join: from then on the peer lives in the container's namespace. */
    sandboxKey: z.string().optional(),
    /** When Join was answered (ms since the epoch): Docker moves the peer in some time after. */
    joinedAt: z.number().optional(),
    /** When Leave was answered: Docker's DeleteEndpoint follows, in seconds on a busy host. */
    leftAt: z.number().optional(),
    /** From the attachment's driver options, tether.label.KEY=VALUE. */
    labels: z.record(z.string(), z.string()).optional(),
    /** Read from Docker after Join (deny and cluster networks): the container's name, aliases and tether labels. */
    container: container.optional(),
  });

  return { network, endpoint, port, container };
}

/** The shapes as text: the store's JSON, and the operator API's. */
export const textShapes = recordShapes({
  cidr: z.string(),
  prefix: z.string(),
  address: z.string(),
  hostIp: z.string(),
});
