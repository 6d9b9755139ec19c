// The IPAM's memory: each pool with the set of its addresses taken and its
// claimed blocks, as the store has them. Every change to it comes as a store
// change (a put or delete of one key), applied here whether it was this host's
// write or, followed by a watch, another host's.
import { notFound } from '../errors.js';
import type { Change, Entry } from '../store/store.js';
import { AddressSet } from './address-set.js';
import {
  ADDRESSES,
  addressOfKey,
  BLOCKS,
  blockOfKey,
  POOLS,
  type PoolRecord,
  parseBlock,
  parsePool,
} from './records.js';

export interface Pool {
  readonly record: PoolRecord;
  readonly addresses: AddressSet;
  /** Claimed blocks (hosts sharing a store): first address of the block to the host that claimed it. */
  readonly blocks: Map<bigint, string>;
}

export class Replica {
  readonly pools = new Map<string, Pool>();
  /** Records that do not parse, by key, with why: left out of memory, listed by the audit. */
  readonly unreadable = new Map<string, string>();

  /** placeCursor: where next-fit starts in a pool new to memory. */
  constructor(private readonly placeCursor: (addresses: AddressSet) => void) {}

  /**
   * A change as the store made it, or as this host's own write makes it (before its revision is
   * known). A record that does not parse (written by hand, or by a broken tether) stops nobody.
   */
  apply(change: Omit<Change, 'revision'>): void {
    try {
      this.applyParsed(change);
      this.unreadable.delete(change.key);
    } catch (error) {
      this.unreadable.set(change.key, (error as Error).message);
    }
  }

  private applyParsed(change: Omit<Change, 'revision'>): void {
    if (change.key.startsWith(POOLS)) {
      const id = decodeURIComponent(change.key.slice(POOLS.length));
      if (change.type === 'delete') this.pools.delete(id);
      else this.setPool(parsePool(change.value ?? ''));
      return;
    }
    const block = change.key.startsWith(BLOCKS);
    if (!block && !change.key.startsWith(ADDRESSES)) return;
    const named = block ? blockOfKey(change.key) : addressOfKey(change.key);
    const pool = named && this.pools.get(named.poolId);
    if (!named || !pool || named.address.version !== pool.record.pool.version) return;
    const { value } = named.address;
    if (block && change.type === 'put') pool.blocks.set(value, parseBlock(change.value ?? ''));
    else if (block) pool.blocks.delete(value);
    else if (change.type === 'put') pool.addresses.take(value);
    else pool.addresses.free(value);
  }

  /** Memory as these entries say, and nothing else (a read of the store after a lost watch). */
  reset(entries: readonly Entry[]): void {
    this.pools.clear();
    this.unreadable.clear();
    // Pools first: an address or block is kept only under its pool.
    const ordered = [...entries].sort((a, b) => Number(!a.key.startsWith(POOLS)) - Number(!b.key.startsWith(POOLS)));
    for (const { key, value } of ordered) this.apply({ type: 'put', key, value });
  }

  /** Puts a pool's record in memory, keeping its addresses if it is there already. */
  setPool(record: PoolRecord): void {
    const existing = this.pools.get(record.id);
    if (existing) return void this.pools.set(record.id, { ...existing, record });
    const addresses = new AddressSet(record.pool, record.range);
    this.placeCursor(addresses);
    this.pools.set(record.id, { record, addresses, blocks: new Map() });
  }

  pool(id: string): Pool {
    const pool = this.pools.get(id);
    if (!pool) throw notFound(`unknown pool "${id}"`);
    return pool;
  }
}
