// What the hosts of a cluster share in etcd, besides the IPAM's pools and
// addresses: who is alive and where its tunnel ends, which networks span the
// cluster, and which endpoint (MAC and addresses) lives on which host.
import { z } from 'zod';
import type { ClusterNetworkSpec } from '../driver/seams.js';
import { parseIp } from '../net/ip.js';

// Values that end up in iproute2 commands are checked on the way out of the store too.
const address = z.string().refine((text) => parseIp(text) !== undefined, 'must be an IP address');
const mac = z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'must be a lower-case MAC address');

export const HOSTS = 'cluster/hosts/';
export const NETWORKS = 'cluster/networks/';
export const VNIS = 'cluster/vnis/';
export const MEMBERS = 'cluster/members/';
export const SWARM_NETWORKS = 'cluster/swarm-networks/';

/** Each host's own keys: its mark of membership, its pool holds. */
export const HOST_SCOPES = 'hosts/';
export const hostScope = (host: string) => `${HOST_SCOPES}${host}/`;
/** Under a host's scope: its registration, kept after the lease ends, so the others learn of its death. */
export const KNOWN_MARK = '/known';
export const knownMark = (host: string) => `${HOST_SCOPES}${host}${KNOWN_MARK}`;
export const memberKey = (network: string, endpointId: string) => `${MEMBERS}${network}/${endpointId}`;

/** A live host, under a lease: the key vanishes when the host stops renewing it. */
export const hostRecord = z.object({
  host: z.string(),
  vtep: address,
  startedAt: z.number(),
  /** Whose registration it is (settings.ts); absent from tethers before it. */
  identity: z.string().optional(),
  /** Which start of that tether made it; absent from tethers before it. */
  nonce: z.string().optional(),
});
export type HostRecord = z.infer<typeof hostRecord>;

/** A network that spans the cluster, with what `docker network create` needs to make it on another host. */
export const clusterNetworkRecord = z.object({
  name: z.string(),
  vni: z.number().int().min(1).max(16_777_215),
  internal: z.boolean(),
  /** Records made before tether carried EnableIPv4 are dual-stack or IPv4 networks. */
  ipv4: z.boolean().default(true),
  ipv6: z.boolean(),
  /** The `-o` options, tether.cluster included. */
  options: z.record(z.string(), z.string()),
  ipam: z.array(
    z.object({
      subnet: z.string(),
      range: z.string().optional(),
      gateway: z.string().optional(),
      aux: z.record(z.string(), z.string()),
    }),
  ),
});
export type ClusterNetworkRecord = ClusterNetworkSpec & { readonly vni: number };

/** A swarm network (--scope global), recorded by the manager's AllocateNetwork; each node builds it with this VNI. */
export const swarmNetworkRecord = z.object({
  networkId: z.string(),
  vni: z.number().int().min(1).max(16_777_215),
  /** The IPv4 subnets swarm allocated it (its AllocateNetwork carries no IPv6). */
  subnets: z.array(z.string()).default([]),
});
export type SwarmNetworkRecord = z.infer<typeof swarmNetworkRecord>;

/** An endpoint of a cluster network: other hosts send its MAC to `host`'s tunnel and answer ARP for its addresses. */
export const memberRecord = z.object({
  host: z.string(),
  mac,
  addresses: z.array(address),
  /** Absent until the endpoint's labels are known: it then matches no policy selector. */
  labels: z.record(z.string(), z.string()).optional(),
  /** Its container's name and its network aliases, once read from Docker: other hosts answer DNS with them. */
  name: z.string().optional(),
  aliases: z.array(z.string()).optional(),
});
export type MemberRecord = z.infer<typeof memberRecord>;

/** The settings two creations of one cluster network must agree on (the VNI is chosen by the first). */
export function sameNetwork(a: ClusterNetworkRecord, b: ClusterNetworkRecord): boolean {
  // Parsing puts the keys in the schema's order, so the texts compare the values alone.
  const settings = (r: ClusterNetworkRecord) => JSON.stringify(clusterNetworkRecord.parse({ ...r, vni: 1 }));
  return settings(a) === settings(b);
}
