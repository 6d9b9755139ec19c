// Where one host alone and hosts sharing a store differ, and nowhere else: how
// memory follows the store, where next-fit starts, what this host remembers of
// its own holdings, which address a dynamic request tries, and whether a
// release may delete an address's record.
import type { AddressKind, PoolRecord } from './records.js';
import type { Pool } from './replica.js';

export interface Tenancy {
  /** Loads the store into the replica (and, shared, follows it); returns what stops following. */
  open(): Promise<() => void>;
  /** This host requested the pool once more (it wrote the record). */
  poolHeld(record: PoolRecord): void;
  /** This host requested the pool once less. */
  poolReleased(id: string): Promise<void>;
  /** Takes in memory the address to try next for a dynamic request; undefined when the range is full. */
  next(pool: Pool): Promise<bigint | undefined>;
  addressTaken(poolId: string, key: string, kind: AddressKind): void;
  /** Deletes the address's record if it is this host's to free; true if the address is free now. */
  release(pool: Pool, key: string): Promise<boolean>;
}
