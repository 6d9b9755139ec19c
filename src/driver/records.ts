// What the network driver persists, one store key per network and endpoint.
import { z } from 'zod';
import type { Store } from '../store/store.js';

export const networkRecord = z.object({
  id: z.string(),
  bridge: z.string(),
  mtu: z.number().int(),
  internal: z.boolean(),
  /** Gateway addresses on the bridge, CIDR form, both families. */
  gateways: z.array(z.string()),
  /** Masquerade traffic leaving the network (-o tether.nat). */
  nat: z.boolean().default(true),
  /** Addresses reserved with --aux-address, CIDR form. */
  auxAddresses: z.array(z.string()).default([]),
  /** Subnets the network serves, CIDR form. */
  subnets: z.array(z.string()),
  /** A network spanning the cluster: its name there, its VNI, and this host's VXLAN device for it. */
  cluster: z.object({ name: z.string(), vni: z.number().int(), vxlan: z.string() }).optional(),
});
export type NetworkRecord = z.infer<typeof networkRecord>;

export const endpointRecord = z.object({
  id: z.string(),
  networkId: z.string(),
  hostName: z.string(),
  peerName: z.string(),
  mac: z.string(),
  address: z.string().optional(),
  addressIpv6: z.string().optional(),
  /** When CreateEndpoint was answered (ms since the epoch). */
  createdAt: z.number().optional(),
  /** Host ports forwarded to this endpoint, set by ProgramExternalConnectivity. */
  ports: z.array(z.object({
    proto: z.enum(['tcp', 'udp']),
    hostIp: z.string(),
    hostPort: z.number().int(),
    containerIp: z.string(),
    containerPort: z.number().int(),
  })).default([]),
  /** Set by Join: from then on the peer lives in the container's namespace. */
  sandboxKey: z.string().optional(),
  /** When Join was answered (ms since the epoch): Docker moves the peer in some time after. */
  joinedAt: z.number().optional(),
});
export type EndpointRecord = z.infer<typeof endpointRecord>;

/** Typed access to the driver's keys, under a scope of their own (one per host in a shared store). */
export class DriverState {
  private readonly networksPrefix: string;
  private readonly endpointsPrefix: string;

  constructor(private readonly store: Store, scope = 'driver/') {
    this.networksPrefix = `${scope}networks/`;
    this.endpointsPrefix = `${scope}endpoints/`;
  }

  async networks(): Promise<NetworkRecord[]> {
    return (await this.store.list(this.networksPrefix)).map((e) => networkRecord.parse(JSON.parse(e.value)));
  }

  async endpoints(): Promise<EndpointRecord[]> {
    return (await this.store.list(this.endpointsPrefix)).map((e) => endpointRecord.parse(JSON.parse(e.value)));
  }

  /** Creates the network's record; false if one already exists. */
  createNetwork(record: NetworkRecord): Promise<boolean> {
    const key = this.networksPrefix + record.id;
    return this.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: JSON.stringify(record) }]);
  }

  async deleteNetwork(id: string): Promise<void> {
    await this.store.commit([], [{ type: 'delete', key: this.networksPrefix + id }]);
  }

  async putEndpoint(record: EndpointRecord): Promise<void> {
    await this.store.commit([], [{ type: 'put', key: this.endpointsPrefix + record.id, value: JSON.stringify(record) }]);
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.store.commit([], [{ type: 'delete', key: this.endpointsPrefix + id }]);
  }
}
