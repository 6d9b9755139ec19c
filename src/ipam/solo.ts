// One host alone on its store: memory changes only through this IPAM, so it
// needs no watch, and every address in the store is this host's.
import type { Store } from '../store/store.js';
import { ADDRESSES, POOLS } from './records.js';
import type { Pool, Replica } from './replica.js';
import type { Tenancy } from './tenancy.js';

export class SoloTenancy implements Tenancy {
  constructor(
    private readonly store: Store,
    private readonly replica: Replica,
  ) {}

  async open(): Promise<() => void> {
    const { replica } = this;
    for (const entry of [...(await this.store.list(POOLS)), ...(await this.store.list(ADDRESSES))]) {
      replica.apply({ type: 'put', key: entry.key, value: entry.value });
    }
    // Next-fit goes on where it was, so a restart does not hand out the addresses freed just before it.
    for (const pool of replica.pools.values()) pool.addresses.resumeAfterHighest();
    return () => undefined;
  }

  poolHeld(): void {}

  async poolReleased(): Promise<void> {}

  async next(pool: Pool): Promise<bigint | undefined> {
    return pool.addresses.takeNext();
  }

  addressTaken(): void {}

  async release(_pool: unknown, key: string): Promise<boolean> {
    // Releasing an address that is already free changes nothing: Docker repeats releases after errors.
    await this.store.commit([], [{ type: 'delete', key }]);
    return true;
  }
}
