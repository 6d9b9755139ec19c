// The IPAM's memory: each pool with the set of its addresses taken, as the
// store has them. Every change to it comes as a store change (a put or delete
// of one key), applied here whether it was this host's write or, followed by a
// watch, another host's.
import { notFound } from '../errors.js';
import type { Change } from '../store/store.js';
import { AddressSet } from './address-set.js';
import { ADDRESSES, addressOfKey, POOLS, type PoolRecord, parsePool } from './records.js';

export interface Pool {
  readonly record: PoolRecord;
  readonly addresses: AddressSet;
}

export class Replica {
  readonly pools = new Map<string, Pool>();

  /** placeCursor: where next-fit starts in a pool new to memory. */
  constructor(private readonly placeCursor: (addresses: AddressSet) => void) {}

  apply(change: Change): void {
    if (change.key.startsWith(POOLS)) {
      const id = decodeURIComponent(change.key.slice(POOLS.length));
      if (change.type === 'delete') this.pools.delete(id);
      else this.setPool(parsePool(change.value ?? ''));
      return;
    }
    if (!change.key.startsWith(ADDRESSES)) return;
    const named = addressOfKey(change.key);
    const pool = named && this.pools.get(named.poolId);
    if (!named || !pool || named.address.version !== pool.record.pool.version) return;
    if (change.type === 'put') pool.addresses.take(named.address.value);
    else pool.addresses.free(named.address.value);
  }

  /** Puts a pool's record in memory, keeping its addresses if it is there already. */
  setPool(record: PoolRecord): void {
    const existing = this.pools.get(record.id);
    if (existing) return void this.pools.set(record.id, { ...existing, record });
    const addresses = new AddressSet(record.pool, record.range);
    this.placeCursor(addresses);
    this.pools.set(record.id, { record, addresses });
  }

  pool(id: string): Pool {
    const pool = this.pools.get(id);
    if (!pool) throw notFound(`unknown pool "${id}"`);
    return pool;
  }
}
