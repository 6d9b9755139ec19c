// Hosts sharing one store (cluster mode). Memory follows the store by watch;
// each host hands out addresses from blocks of the pool it claimed
// (blocks.ts), so hosts allocating at once do not reach for one address; a
// host frees only its own addresses; and it remembers what it holds, to claim
// it back after the others took it for dead while it was only cut off.
import { overlaps } from '../net/ip.js';
import { PrefixFollower } from '../store/prefix-follower.js';
import type { Entry, Guard, Store } from '../store/store.js';
import { retryCas } from '../util/retry.js';
import type { KeyedSerial } from '../util/serial.js';
import type { AddressSet } from './address-set.js';
import { BlockAffinity, hostHash } from './blocks.js';
import { Holdings } from './holdings.js';
import type { PoolStore } from './pool-store.js';
import {
  ADDRESSES,
  type AddressKind,
  addressOfKey,
  IPAM,
  LOCAL_SPACE,
  POOLS,
  type PoolRecord,
  parseAddress,
  parsePool,
  readable,
} from './records.js';
import type { Pool, Replica } from './replica.js';
import type { Tenancy } from './tenancy.js';

/** Where next-fit starts for this host when it borrows outside its blocks: a place of its own in each pool. */
export function cursorOf(host: string): (addresses: AddressSet) => void {
  const start = hostHash(host);
  return (addresses) => addresses.startAt(start);
}

export class SharedTenancy implements Tenancy {
  private readonly holdings = new Holdings<PoolRecord, AddressKind>();
  private readonly blocks: BlockAffinity;

  constructor(
    private readonly store: Store,
    private readonly pools: PoolStore,
    private readonly replica: Replica,
    /** The IPAM's per-address-space locks, which pool changes take. */
    private readonly spaceLocks: KeyedSerial,
    private readonly host: string,
  ) {
    this.blocks = new BlockAffinity(store, replica, host);
  }

  /**
   * Reads the IPAM's keys at one revision and follows them from there. When the watch is lost
   * (etcd compacted past it), memory is read again whole: allocations stay correct meanwhile, as
   * every write is guarded in the store; memory only steers where they look first.
   */
  async open(): Promise<() => void> {
    let loaded = false;
    const follower = new PrefixFollower(this.store, IPAM, {
      read: ({ entries }) => {
        this.replica.reset(entries);
        if (loaded) return;
        loaded = true;
        this.loadHoldings(
          entries.filter((e) => e.key.startsWith(POOLS)),
          entries.filter((e) => e.key.startsWith(ADDRESSES)),
        );
      },
      change: (change) => this.replica.apply(change),
    });
    await follower.start();
    return () => follower.close();
  }

  private loadHoldings(pools: readonly Entry[], addresses: readonly Entry[]): void {
    const byPool = new Map<string, [string, AddressKind][]>();
    for (const entry of addresses) {
      const held = readable(() => parseAddress(entry.value));
      const named = addressOfKey(entry.key);
      if (!held || !named || (held.kind !== 'gateway' && held.host !== this.host)) continue;
      byPool.set(named.poolId, [...(byPool.get(named.poolId) ?? []), [entry.key, held.kind]]);
    }
    for (const entry of pools) {
      const record = readable(() => parsePool(entry.value));
      const refs = record?.holders[this.host];
      if (refs) this.holdings.load(record, refs, byPool.get(record.id) ?? []);
    }
  }

  /** The IPAM's records left out as unreadable, in words (for the audit). */
  unreadable(): string[] {
    return [...this.replica.unreadable].map(([key, why]) => `IPAM record ${key} is unreadable and left out: ${why}`);
  }

  poolHeld(record: PoolRecord): void {
    this.holdings.holdPool(record);
  }

  async poolReleased(id: string): Promise<void> {
    if (this.holdings.releasePool(id)) return;
    // Its blocks only steer allocation: left behind by a failing store, they cost the pool nothing
    // (others borrow from them), go with the pool, or with this host when it is taken for dead.
    await this.blocks.releaseAll(id).catch(() => undefined);
  }

  async next(pool: Pool): Promise<bigint | undefined> {
    // Swarm's addresses have one allocator, its leading manager: no hosts to keep apart.
    return pool.record.space === LOCAL_SPACE ? this.blocks.next(pool) : pool.addresses.takeNext();
  }

  addressTaken(poolId: string, key: string, kind: AddressKind): void {
    this.holdings.addressTaken(poolId, key, kind);
  }

  async release(pool: Pool, key: string): Promise<boolean> {
    const entry = await this.store.get(key);
    if (!entry) return true;
    const record = parseAddress(entry.value);
    // Not this host's to free: the gateway of a network other hosts still have (it goes with the
    // pool), or an address another host was given while this one was taken for dead.
    const othersHold =
      record.kind === 'gateway'
        ? Object.keys(pool.record.holders).some((h) => h !== this.host)
        : record.host !== undefined && record.host !== this.host;
    if (othersHold) return false;
    if (!(await this.store.commit([{ key, revision: entry.revision }], [{ type: 'delete', key }]))) return false;
    this.holdings.addressFreed(pool.record.id, key);
    const named = addressOfKey(key);
    if (named) {
      pool.addresses.free(named.address.value);
      await this.blocks.freed(pool, named.address.value);
    }
    return true;
  }

  /**
   * Gives back what a dead host held: its containers' addresses, its blocks, and its hold on each
   * pool (a pool nobody holds any more goes, with its gateway). Each address is deleted only if unchanged since
   * read, and every step only while the guards hold (the host has not come back). Returns how many
   * addresses were freed.
   */
  async forgetHost(host: string, unless: readonly Guard[]): Promise<number> {
    const { replica } = this;
    let freed = 0;
    for (const entry of await this.store.list(ADDRESSES)) {
      const record = readable(() => parseAddress(entry.value));
      if (record?.host !== host || record.kind !== 'address') continue;
      const guards = [{ key: entry.key, revision: entry.revision }, ...unless];
      if (await this.store.commit(guards, [{ type: 'delete', key: entry.key }])) freed++;
    }
    for (const pool of [...replica.pools.values()]) {
      if (!(host in pool.record.holders)) continue;
      await this.spaceLocks.run(pool.record.space, async () => {
        const written = await this.pools.changeHolders(
          pool.record.id,
          (holders) => {
            delete holders[host];
            return holders;
          },
          unless,
        );
        if (written) replica.setPool(written);
      });
    }
    await this.blocks.forgetHost(host, unless);
    return freed;
  }

  /**
   * Claims back what this host holds after the other hosts took it for dead while it was only cut
   * off: its hold on each pool (the pool itself, if it went meanwhile) and every address record it
   * made that is still free. Returns what another host took meanwhile, which is theirs now: the
   * addresses, and each loss in words.
   */
  async reclaim(): Promise<{ addresses: string[]; problems: string[] }> {
    const lost = { addresses: [] as string[], problems: [] as string[] };
    const addressOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);
    for (const held of this.holdings.all()) {
      const problem = await this.spaceLocks.run(held.record.space, () => this.claimPool(held.record, held.refs));
      if (problem !== undefined) {
        lost.problems.push(problem);
        lost.addresses.push(...[...held.addresses.keys()].map(addressOf));
        continue;
      }
      for (const [key, kind] of held.addresses) {
        const value = JSON.stringify({ kind, host: this.host });
        if (await this.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value }])) continue;
        const entry = await this.store.get(key);
        const record = entry && parseAddress(entry.value);
        if (!record || record.host === this.host || (record.kind === 'gateway' && kind === 'gateway')) continue;
        held.addresses.delete(key);
        lost.addresses.push(addressOf(key));
        lost.problems.push(
          `address ${addressOf(key)} of pool ${held.record.id} went to host ${record.host ?? '?'} while ` +
            `this host was cut off`,
        );
      }
    }
    return lost;
  }

  /** Holds the pool again as many times as before; a problem in words if it cannot. */
  private async claimPool(held: PoolRecord, refs: number): Promise<string | undefined> {
    return retryCas(`pool ${held.id}`, async () => {
      const stored = await this.pools.get(held.id);
      if (stored?.record.holders[this.host] === refs) return { ok: true as const };
      if (!stored) {
        const clash = (await this.pools.list()).find(
          (p) => p.record.space === held.space && overlaps(p.record.pool, held.pool),
        );
        if (clash)
          return {
            problem: `pool ${held.id} went while this host was cut off, and pool ${clash.record.id} overlaps it now`,
          };
      }
      const holders = { ...(stored?.record.holders ?? {}), [this.host]: refs };
      const record = { ...(stored?.record ?? held), holders };
      if (!(await this.pools.commit(stored?.revision ?? 0, record))) return undefined;
      this.replica.setPool(record);
      return { ok: true as const };
    }).then(
      (r) => ('problem' in r ? r.problem : undefined),
      (error: Error) => error.message,
    );
  }
}
