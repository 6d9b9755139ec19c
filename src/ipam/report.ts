// What the pools hold, for the operator API, the audit and the orphan sweep:
// this host's share as the store has it, and where memory disagrees.
import { formatPrefix, type IpPrefix } from '../net/ip.js';
import { formatPoolId } from '../protocol/pool-id.js';
import type { Store } from '../store/store.js';
import type { PoolStore } from './pool-store.js';
import { type AddressKind, addressPrefix, parseAddress, readable } from './records.js';
import type { Replica } from './replica.js';
import { SWARM_HOLDER } from './swarm.js';

export interface PoolAllocations {
  readonly id: string;
  readonly space: string;
  readonly pool: IpPrefix;
  /** Address (no prefix length) to what it was handed out as. */
  readonly addresses: ReadonlyMap<string, AddressKind>;
  /** Swarm's pool (--scope global): every node's tasks' addresses are in it, this host's among them. */
  readonly swarm: boolean;
}

export interface PoolUsage {
  readonly id: string;
  readonly pool: string;
  readonly range?: string;
  /** How many times this host requested the pool. */
  readonly refs: number;
  /** Hosts holding the pool (one, unless the network spans a cluster). */
  readonly hosts: number;
  readonly used: number;
  readonly capacity: string;
}

export class PoolReport {
  constructor(
    private readonly store: Store,
    private readonly pools: PoolStore,
    private readonly replica: Replica,
    private readonly host: string,
  ) {}

  /**
   * This host's share of the pools as the store has them: the pools it holds, with their gateways
   * and the addresses it handed out (other hosts' containers are theirs to account for), swarm's
   * pools whole, and where memory disagrees with the store.
   */
  async allocations(): Promise<{ pools: PoolAllocations[]; problems: string[] }> {
    const pools: PoolAllocations[] = [];
    const problems: string[] = [];
    const storedIds = new Set<string>();
    for (const { record } of await this.pools.list()) {
      storedIds.add(record.id);
      const under = addressPrefix(record.id);
      const stored = (await this.store.list(under)).flatMap((a) => {
        const record = readable(() => parseAddress(a.value));
        return record ? [[a.key.slice(under.length), record] as const] : [];
      });
      const inMemory = this.replica.pools.get(record.id);
      if (!inMemory) problems.push(`pool ${record.id} is stored but not loaded`);
      else if (inMemory.addresses.size !== stored.length) {
        problems.push(
          `pool ${record.id}: ${inMemory.addresses.size} addresses taken in memory, ${stored.length} stored`,
        );
      }
      const swarm = SWARM_HOLDER in record.holders;
      if (!swarm && !(this.host in record.holders)) continue;
      const mine = stored.filter(
        ([, a]) => swarm || a.kind === 'gateway' || a.host === undefined || a.host === this.host,
      );
      const addresses = new Map(mine.map(([address, a]) => [address, a.kind]));
      pools.push({ id: record.id, space: record.space, pool: record.pool, addresses, swarm });
    }
    for (const id of this.replica.pools.keys()) {
      if (!storedIds.has(id)) problems.push(`pool ${id} is loaded but not stored`);
    }
    return { pools, problems };
  }

  /** The ip-range of a pool, if it has one. */
  rangeOf(space: string, subnet: IpPrefix): IpPrefix | undefined {
    return this.replica.pools.get(formatPoolId({ space, prefix: subnet }))?.record.range;
  }

  /** Each pool's use, in the order of their IDs: the same order on every call, whatever order etcd gave them in. */
  usage(): PoolUsage[] {
    const pools = [...this.replica.pools.values()].sort((a, b) => a.record.id.localeCompare(b.record.id));
    return pools.map(({ record, addresses }) => ({
      id: record.id,
      pool: formatPrefix(record.pool),
      ...(record.range ? { range: formatPrefix(record.range) } : {}),
      refs: record.holders[this.host] ?? 0,
      hosts: Object.keys(record.holders).length,
      used: addresses.size,
      capacity: addresses.capacity.toString(),
    }));
  }
}
