// The driver's networks and endpoints: in the store, and in memory as a copy
// of it. Every change goes through persist(), which writes the store first and
// memory second, so memory never holds what the store does not: a store that
// fails leaves both as they were.
import { conflict, notFound } from '../errors.js';
import { type IpAddress, type IpPrefix, sameIp } from '../net/ip.js';
import type { PoolId } from '../protocol/pool-id.js';
import type { Guard, Operation, Store } from '../store/store.js';
import { kindOf } from './kinds/kind-of.js';
import {
  addressesOf,
  type EndpointRecord,
  endpointText,
  type NetworkRecord,
  networkText,
  parseEndpoint,
  readNetwork,
  TETHER_ADDRESS_SPACE,
} from './records.js';

type Change =
  | { readonly type: 'createNetwork'; readonly network: NetworkRecord }
  | { readonly type: 'putNetwork'; readonly network: NetworkRecord }
  | { readonly type: 'deleteNetwork'; readonly id: string }
  | { readonly type: 'putEndpoint'; readonly endpoint: EndpointRecord }
  | { readonly type: 'deleteEndpoint'; readonly id: string };

/** Writes that go with a change of the driver's records. */
export interface Alongside {
  readonly operations?: readonly Operation[];
  readonly guards?: readonly Guard[];
  /** How long the shared store may hold them back to share a transaction (cluster mode). */
  readonly waitMs?: number;
}

/** Where the driver's records live in the host's own store. */
export const DRIVER_SCOPE = 'driver/';

export class DriverState {
  readonly networks = new Map<string, NetworkRecord>();
  readonly endpoints = new Map<string, EndpointRecord>();
  private readonly networksPrefix = `${DRIVER_SCOPE}networks/`;
  private readonly endpointsPrefix = `${DRIVER_SCOPE}endpoints/`;

  private constructor(
    private readonly store: Store,
    private readonly shared: Store | undefined,
  ) {}

  /**
   * Loads the driver's records from the host's own store. shared: the store hosts share (cluster
   * mode), where the writes that go with a change (member records, addresses) land.
   */
  static async load(store: Store, shared?: Store): Promise<DriverState> {
    const state = new DriverState(store, shared);
    const upgrades: Operation[] = [];
    for (const entry of await store.list(state.networksPrefix)) {
      const { network, upgraded } = readNetwork(entry.value);
      state.networks.set(network.id, network);
      if (upgraded) upgrades.push(state.writeOf({ type: 'putNetwork', network }).operation);
    }
    for (const entry of await store.list(state.endpointsPrefix)) {
      const read = parseEndpoint(entry.value);
      const endpoint = state.upgradeEndpoint(read);
      state.endpoints.set(endpoint.id, endpoint);
      if (endpoint !== read) upgrades.push(state.writeOf({ type: 'putEndpoint', endpoint }).operation);
    }
    // Records of an older shape are written back once in today's.
    if (upgrades.length > 0) await store.commit([], upgrades);
    return state;
  }

  /** Before kinds, an endpoint on a network with no bridge (macvlan) recorded a veth's host end it never had. */
  private upgradeEndpoint(endpoint: EndpointRecord): EndpointRecord {
    const network = this.networks.get(endpoint.networkId);
    if (!network || kindOf(network).bridge !== undefined || endpoint.hostName === undefined) return endpoint;
    const { hostName: _none, ...upgraded } = endpoint;
    return upgraded;
  }

  /**
   * Writes the change to the store, then to memory; a failed write changes neither. `also`: writes
   * that go with it (the endpoint's member record, its addresses' records), with the guards they
   * need: in the same transaction on one host alone; in cluster mode first, in the shared store,
   * so that a crash before the host's own write leaves only an endpoint published that this host
   * does not have, which the start's republish and the collection rounds' ghost sweep withdraw.
   */
  async persist(change: Change, also: Alongside = {}): Promise<void> {
    const own = this.writeOf(change);
    const { operations = [], guards = [] } = also;
    const held = this.shared
      ? await this.commitApart(this.shared, own, also)
      : await this.store.commit([...own.guards, ...guards], [own.operation, ...operations]);
    if (!held) {
      // Only a network's creation is guarded itself (two creations of one network race, one wins), and
      // it has nothing alongside: any other failed guard is an address's.
      if (change.type === 'createNetwork') {
        throw conflict(`network ${change.network.id.slice(0, 12)} is being created concurrently`);
      }
      throw conflict('another host took an address of this endpoint meanwhile; retry');
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

  private async commitApart(
    shared: Store,
    own: { guards: Guard[]; operation: Operation },
    { operations = [], guards = [], waitMs }: Alongside,
  ): Promise<boolean> {
    if ((operations.length > 0 || guards.length > 0) && !(await shared.commit(guards, operations, waitMs))) {
      return false;
    }
    return this.store.commit(own.guards, [own.operation]);
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
