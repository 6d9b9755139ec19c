// The addresses taken in one pool, with a next-fit cursor over the range that
// dynamic requests draw from. Allocation looks at the cursor first, so filling
// a pool costs the same per address at the start and at the end; a freed
// address is not handed out again until the cursor comes round (as moby's
// bitmap does), which keeps a departed container's address out of ARP caches.
// Pools up to 2^24 addresses (every IPv4 pool worth having) keep a bitmap, 2 KiB
// for a /16; larger ones (IPv6) keep only the addresses taken.
import { type IpPrefix, lastOf, prefixSize } from '../net/ip.js';

const BITMAP_LIMIT = 1n << 24n;

/** Offsets from the pool's base that are taken. */
interface Taken {
  has(offset: bigint): boolean;
  add(offset: bigint): void;
  delete(offset: bigint): boolean;
  values(): Iterable<bigint>;
}

class Bitmap implements Taken {
  private readonly words: Uint32Array;

  constructor(size: bigint) {
    this.words = new Uint32Array(Math.ceil(Number(size) / 32));
  }

  has(offset: bigint): boolean {
    const i = Number(offset);
    return ((this.words[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  add(offset: bigint): void {
    const i = Number(offset);
    this.words[i >>> 5] = (this.words[i >>> 5] ?? 0) | (1 << (i & 31));
  }

  delete(offset: bigint): boolean {
    const was = this.has(offset);
    const i = Number(offset);
    this.words[i >>> 5] = (this.words[i >>> 5] ?? 0) & ~(1 << (i & 31));
    return was;
  }

  *values(): Iterable<bigint> {
    for (let w = 0; w < this.words.length; w++) {
      const word = this.words[w] ?? 0;
      if (word === 0) continue;
      for (let bit = 0; bit < 32; bit++) if (word & (1 << bit)) yield BigInt(w * 32 + bit);
    }
  }
}

export class AddressSet {
  private readonly taken: Taken;
  private count = 0;
  /** First and last address dynamic requests may return. */
  readonly first: bigint;
  readonly last: bigint;
  private cursor: bigint;
  private takenInRange = 0n;

  constructor(
    readonly pool: IpPrefix,
    range: IpPrefix = pool,
  ) {
    const [firstUsable, lastUsable] = usableBounds(pool);
    this.first = range.base > firstUsable ? range.base : firstUsable;
    this.last = lastOf(range) < lastUsable ? lastOf(range) : lastUsable;
    this.cursor = this.first;
    const size = prefixSize(pool);
    this.taken = size <= BITMAP_LIMIT ? new Bitmap(size) : new Set<bigint>();
  }

  get capacity(): bigint {
    return this.last >= this.first ? this.last - this.first + 1n : 0n;
  }

  get size(): number {
    return this.count;
  }

  /** Whether the address may be used at all (inside the pool, not network or broadcast). */
  isUsable(value: bigint): boolean {
    const [firstUsable, lastUsable] = usableBounds(this.pool);
    return value >= firstUsable && value <= lastUsable;
  }

  has(value: bigint): boolean {
    return this.taken.has(value - this.pool.base);
  }

  take(value: bigint): void {
    if (this.has(value)) return;
    this.taken.add(value - this.pool.base);
    this.count++;
    if (value >= this.first && value <= this.last) this.takenInRange++;
  }

  free(value: bigint): void {
    if (!this.taken.delete(value - this.pool.base)) return;
    this.count--;
    if (value >= this.first && value <= this.last) this.takenInRange--;
  }

  /** Moves the cursor past the highest taken address of the range (after loading from the store). */
  resumeAfterHighest(): void {
    let highest: bigint | undefined;
    for (const offset of this.taken.values()) {
      const value = this.pool.base + offset;
      if (value >= this.first && value <= this.last && (highest === undefined || value > highest)) highest = value;
    }
    if (highest !== undefined) this.cursor = highest === this.last ? this.first : highest + 1n;
  }

  /** Puts the cursor at an offset into the range: hosts sharing a pool start in different places. */
  startAt(offset: bigint): void {
    if (this.capacity > 0n) this.cursor = this.first + (offset % this.capacity);
  }

  /**
   * Takes the first free address of the range between low and high (inclusive), looking from `from`
   * up, then from low; undefined when they are all taken.
   */
  takeFirstFree(low: bigint, high: bigint, from = low): bigint | undefined {
    const lo = low > this.first ? low : this.first;
    const hi = high < this.last ? high : this.last;
    const start = from > lo && from <= hi ? from : lo;
    for (const [a, b] of [
      [start, hi],
      [lo, start - 1n],
    ] as const) {
      for (let value = a; value <= b; value++) {
        if (this.has(value)) continue;
        this.take(value);
        return value;
      }
    }
    return undefined;
  }

  /** Whether any address of the range between low and high (inclusive) is free. */
  anyFree(low: bigint, high: bigint): boolean {
    const lo = low > this.first ? low : this.first;
    const hi = high < this.last ? high : this.last;
    for (let value = lo; value <= hi; value++) if (!this.has(value)) return true;
    return false;
  }

  /** Whether any address between low and high (inclusive) is taken, inside the range or not. */
  anyTaken(low: bigint, high: bigint): boolean {
    for (let value = low; value <= high; value++) if (this.has(value)) return true;
    return false;
  }

  /** Takes the next free address of the range, or returns undefined when the range is full. */
  takeNext(): bigint | undefined {
    if (this.takenInRange >= this.capacity) return undefined;
    let candidate = this.cursor;
    while (this.has(candidate)) candidate = candidate === this.last ? this.first : candidate + 1n;
    this.take(candidate);
    this.cursor = candidate === this.last ? this.first : candidate + 1n;
    return candidate;
  }
}

/** The network address is never handed out, nor the IPv4 broadcast address (RFC 3021 /31 and /32 excepted). */
function usableBounds(pool: IpPrefix): [bigint, bigint] {
  const hostBits = (pool.version === 4 ? 32 : 128) - pool.length;
  if (hostBits <= 1) return [pool.base, lastOf(pool)];
  return [pool.base + 1n, pool.version === 4 ? lastOf(pool) - 1n : lastOf(pool)];
}
