// What the IPAM is built from: its settings, and the parts the daemon makes
// for one host alone or for hosts sharing a store (see index.ts).
import type { IpAddress, IpPrefix } from '../net/ip.js';
import type { PoolId } from '../protocol/pool-id.js';
import type { Store } from '../store/store.js';
import type { KeyedSerial } from '../util/serial.js';
import type { DefaultPool } from './auto-pool.js';
import type { PoolStore } from './pool-store.js';
import type { Replica } from './replica.js';
import type { Tenancy } from './tenancy.js';

export interface IpamConfig {
  readonly defaultPool: DefaultPool;
  readonly defaultPool6: DefaultPool;
  /** Prefixes routed by the host, which automatic pools must avoid. */
  readonly hostRoutes: () => Promise<IpPrefix[]>;
  /** This host's name: pools and addresses are held by hosts, so a dead host's can be given back. */
  readonly host: string;
  /**
   * Who holds an address now, if anyone (see daemon/release-guard.ts): a release of an address an
   * endpoint still holds is a stale retry and must not free someone else's address.
   */
  readonly holderOf: (address: IpAddress) => string | undefined;
  /** --scope global: swarm's allocations, in the global address space (see swarm.ts). */
  readonly swarmScope?: boolean;
  /**
   * Cluster mode: whether the pool is a subnet of one of this host's tether networks, whose
   * CreateEndpoint writes a container's address with the endpoint (deferred.ts).
   */
  readonly defersWrite?: (poolId: PoolId) => boolean;
  /** Where the IPAM tells of a problem no call can report. */
  readonly warn?: (message: string) => void;
}

export interface IpamDeps {
  readonly store: Store;
  readonly pools: PoolStore;
  readonly replica: Replica;
  readonly tenancy: Tenancy;
  /** Pool creation and release are serialized per address space. */
  readonly spaceLocks: KeyedSerial;
}
