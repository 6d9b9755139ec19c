// Block affinity for hosts sharing a store (after Calico's): a pool is cut
// into blocks of up to 64 addresses; a host claims a free block by a
// create-if-absent write and hands out its addresses before anyone else's, so
// hosts allocating at once do not reach for the same address and their writes
// never conflict. A claim is only a preference: each address's own key stays
// the truth, and when no block is left a host borrows a free address anywhere.
// A block nobody uses goes back to the pool.
import { createHash } from 'node:crypto';
import type { Guard, Operation, Store } from '../store/store.js';
import { BLOCKS, blockKey, blockPrefix, blockText, parseBlock, readable } from './records.js';
import type { Pool, Replica } from './replica.js';

/** How many candidate blocks a claim looks at (an IPv6 /64 has 2^58 of them). */
const CLAIM_SCAN = 4096n;

/** A number of the host's own, from its name: where it starts looking in a pool. */
export function hostHash(host: string): bigint {
  return BigInt(`0x${createHash('sha256').update(host).digest('hex').slice(0, 12)}`);
}

/** Blocks of 64 addresses, smaller in a small pool so that it has four; none in a pool under a /28. */
export function blockSize(pool: Pool): bigint | undefined {
  const { version, length } = pool.record.pool;
  const bits = Math.min(6, (version === 4 ? 32 : 128) - length - 2);
  return bits >= 2 ? 1n << BigInt(bits) : undefined;
}

export class BlockAffinity {
  /** Per pool: where the last address this host handed out from its blocks was, for next-fit. */
  private readonly cursors = new Map<string, bigint>();
  /** Per pool: the claim this host has in flight. */
  private readonly claims = new Map<string, Promise<boolean>>();
  private readonly start: bigint;

  constructor(
    private readonly store: Store,
    private readonly replica: Replica,
    private readonly host: string,
  ) {
    this.start = hostHash(host);
  }

  /**
   * Takes (in memory) the next address for this host: from its own blocks, else from a block it
   * claims now, else anywhere in the range. Undefined when the range is full.
   */
  async next(pool: Pool): Promise<bigint | undefined> {
    const size = blockSize(pool);
    if (size === undefined) return pool.addresses.takeNext();
    const id = pool.record.id;
    for (let lost = 0; lost < 3; ) {
      const own = this.fromOwn(pool, size);
      if (own !== undefined) return own;
      // One claim at a time per pool: requests arriving together share the block it brings.
      const pending = this.claims.get(id);
      if (pending) {
        await pending;
        continue;
      }
      const base = this.unclaimed(pool, size);
      if (base === undefined) break;
      const claim = this.claim(pool, base).finally(() => this.claims.delete(id));
      this.claims.set(id, claim);
      if (!(await claim)) lost++;
    }
    return pool.addresses.takeNext();
  }

  private fromOwn(pool: Pool, size: bigint): bigint | undefined {
    const own = [...pool.blocks].filter(([, host]) => host === this.host).map(([base]) => base);
    if (own.length === 0) return undefined;
    own.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const cursor = this.cursors.get(pool.record.id) ?? 0n;
    // Next-fit over the host's blocks: on from the cursor, round to where it started.
    const at = Math.max(
      0,
      own.findIndex((base) => cursor < base + size),
    );
    const order = [...own.slice(at), ...own.slice(0, at)];
    for (const [i, base] of order.entries()) {
      const from = i === 0 ? cursor : base;
      const value = pool.addresses.takeFirstFree(base, base + size - 1n, from);
      if (value !== undefined) return this.handedOut(pool, value);
    }
    return undefined;
  }

  private handedOut(pool: Pool, value: bigint): bigint {
    this.cursors.set(pool.record.id, value + 1n);
    return value;
  }

  /** A block nobody has claimed with a free address in range, looked for from this host's own place. */
  private unclaimed(pool: Pool, size: bigint): bigint | undefined {
    const { first, last } = pool.addresses;
    const low = first - ((first - pool.record.pool.base) % size);
    const count = (last - low) / size + 1n;
    const scan = count < CLAIM_SCAN ? count : CLAIM_SCAN;
    for (let i = 0n; i < scan; i++) {
      const base = low + ((this.start + i) % count) * size;
      if (!pool.blocks.has(base) && pool.addresses.anyFree(base, base + size - 1n)) return base;
    }
    return undefined;
  }

  /** Claims the block; false if another host did first (memory learns whose it is). */
  private async claim(pool: Pool, base: bigint): Promise<boolean> {
    const key = blockKey(pool.record.id, { version: pool.record.pool.version, value: base });
    const value = blockText(this.host);
    if (await this.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value }])) {
      this.replica.apply({ type: 'put', key, value });
      return true;
    }
    const entry = await this.store.get(key);
    this.replica.apply(entry ? { type: 'put', key, value: entry.value } : { type: 'delete', key });
    return false;
  }

  /**
   * After one of this host's addresses was freed: its block goes back to the pool if it is empty
   * now and the host has another block there.
   */
  async freed(pool: Pool, value: bigint): Promise<void> {
    const size = blockSize(pool);
    if (size === undefined) return;
    const base = value - ((value - pool.record.pool.base) % size);
    if (pool.blocks.get(base) !== this.host || pool.addresses.anyTaken(base, base + size - 1n)) return;
    if ([...pool.blocks.values()].filter((host) => host === this.host).length < 2) return;
    const key = blockKey(pool.record.id, { version: pool.record.pool.version, value: base });
    const entry = await this.store.get(key);
    if (!entry || parseBlock(entry.value) !== this.host) return;
    if (await this.store.commit([{ key, revision: entry.revision }], [{ type: 'delete', key }])) {
      this.replica.apply({ type: 'delete', key });
    }
  }

  /** Gives back every block the host claimed in the pool (it holds the pool no more), if unchanged since. */
  async releaseAll(poolId: string): Promise<void> {
    await this.dropBlocks(blockPrefix(poolId), this.host, []);
  }

  /** Gives back every block a dead host claimed, in every pool, while the guards hold. */
  forgetHost(host: string, unless: readonly Guard[]): Promise<void> {
    return this.dropBlocks(BLOCKS, host, unless);
  }

  /** Deletes the host's blocks under the prefix, each if unchanged since read and while the guards hold. */
  private async dropBlocks(prefix: string, host: string, unless: readonly Guard[]): Promise<void> {
    for (const entry of await this.store.list(prefix)) {
      if (readable(() => parseBlock(entry.value)) !== host) continue;
      const guards = [{ key: entry.key, revision: entry.revision }, ...unless];
      const deletion: Operation = { type: 'delete', key: entry.key };
      if (await this.store.commit(guards, [deletion])) this.replica.apply(deletion);
    }
  }
}
