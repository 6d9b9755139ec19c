// The driver's networks and endpoints: in the store, and in memory as a copy
// of it. Every change goes through persist(), which writes the store first and
// memory second, so memory never holds what the store does not: a store that
// fails leaves both as they were.
import { conflict, notFound } from '../errors.js';
import { type IpAddress, type IpPrefix, sameIp } from '../net/ip.js';
import type { PoolId } from '../protocol/pool-id.js';
import type { Guard, Operation, Store } from '../store/store.js';
import {
  addressesOf,
  type EndpointRecord,
  endpointText,
  type NetworkRecord,
  networkText,
  parseEndpoint,
  parseNetwork,
  TETHER_ADDRESS_SPACE,
} from './records.js';

type Change =
  | { readonly type: 'createNetwork'; readonly network: NetworkRecord }
  | { readonly type: 'putNetwork'; readonly network: NetworkRecord }
  | { readonly type: 'deleteNetwork'; readonly id: string }
  | { readonly type: 'putEndpoint'; readonly endpoint: EndpointRecord }
  | { readonly type: 'deleteEndpoint'; readonly id: string };

export class DriverState {
  readonly networks = new Map<string, NetworkRecord>();
  readonly endpoints = new Map<string, EndpointRecord>();
  private readonly networksPrefix: string;
  private readonly endpointsPrefix: string;

  private constructor(
    private readonly store: Store,
    scope: string,
  ) {
    this.networksPrefix = `${scope}networks/`;
    this.endpointsPrefix = `${scope}endpoints/`;
  }

  /** Loads the driver's keys under their scope (one per host in a shared store). */
  static async load(store: Store, scope = 'driver/'): Promise<DriverState> {
    const state = new DriverState(store, scope);
    for (const entry of await store.list(state.networksPrefix)) {
      const network = parseNetwork(entry.value);
      state.networks.set(network.id, network);
    }
    for (const entry of await store.list(state.endpointsPrefix)) {
      const endpoint = parseEndpoint(entry.value);
      state.endpoints.set(endpoint.id, endpoint);
    }
    return state;
  }

  /**
   * Writes the change to the store, then to memory; a failed write changes neither. `alongside`:
   * other writes that must land in the same transaction (the endpoint's member record, its
   * addresses' records), with the guards they need.
   */
  async persist(change: Change, alongside: readonly Operation[] = [], guards: readonly Guard[] = []): Promise<void> {
    const own = this.writeOf(change);
    if (!(await this.store.commit([...own.guards, ...guards], [own.operation, ...alongside]))) {
      // Only a network's creation is guarded itself: two creations of one network race, one wins.
      if (change.type === 'createNetwork') {
        throw conflict(`network ${change.network.id.slice(0, 12)} is being created concurrently`);
      }
      if (guards.length > 0) throw conflict('another host took an address of this endpoint meanwhile; retry');
    }
    switch (change.type) {
      case 'createNetwork':
      case 'putNetwork':
        this.networks.set(change.network.id, change.network);
        return;
      case 'deleteNetwork':
        this.networks.delete(change.id);
        return;
      case 'putEndpoint':
        this.endpoints.set(change.endpoint.id, change.endpoint);
        return;
      case 'deleteEndpoint':
        this.endpoints.delete(change.id);
        return;
    }
  }

  /** The store's side of a change: its guard (a network is created only once) and its write. */
  private writeOf(change: Change): { guards: Guard[]; operation: Operation } {
    switch (change.type) {
      case 'createNetwork':
      case 'putNetwork': {
        const key = this.networksPrefix + change.network.id;
        const guards = change.type === 'createNetwork' ? [{ key, revision: 0 }] : [];
        return { guards, operation: { type: 'put', key, value: JSON.stringify(networkText(change.network)) } };
      }
      case 'putEndpoint': {
        const key = this.endpointsPrefix + change.endpoint.id;
        return { guards: [], operation: { type: 'put', key, value: JSON.stringify(endpointText(change.endpoint)) } };
      }
      case 'deleteNetwork':
      case 'deleteEndpoint': {
        const prefix = change.type === 'deleteNetwork' ? this.networksPrefix : this.endpointsPrefix;
        return { guards: [], operation: { type: 'delete', key: prefix + change.id } };
      }
    }
  }

  network(networkId: string): NetworkRecord {
    const network = this.networks.get(networkId);
    if (!network) throw notFound(`network ${networkId.slice(0, 12)} is not a tether network`);
    return network;
  }

  endpoint(ref: { networkId: string; endpointId: string }): EndpointRecord {
    const endpoint = this.endpoints.get(ref.endpointId);
    if (!endpoint || endpoint.networkId !== ref.networkId) {
      throw notFound(`endpoint ${ref.endpointId.slice(0, 12)} does not exist`);
    }
    return endpoint;
  }

  endpointsOf(networkId: string): EndpointRecord[] {
    return [...this.endpoints.values()].filter((e) => e.networkId === networkId);
  }

  /** Whether one of the networks has this subnet of tether's local address space. */
  hasSubnet(poolId: PoolId): boolean {
    const { space, prefix: p } = poolId;
    if (space !== TETHER_ADDRESS_SPACE) return false;
    const same = (s: IpPrefix) => s.version === p.version && s.base === p.base && s.length === p.length;
    return [...this.networks.values()].some((n) => n.subnets.some(same));
  }

  /** The endpoint holding this address, if any. */
  endpointWith(address: IpAddress): EndpointRecord | undefined {
    for (const endpoint of this.endpoints.values()) {
      if (addressesOf(endpoint).some((a) => sameIp(a.address, address))) return endpoint;
    }
    return undefined;
  }

  snapshot(): { networks: NetworkRecord[]; endpoints: EndpointRecord[] } {
    return { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()] };
  }
}
