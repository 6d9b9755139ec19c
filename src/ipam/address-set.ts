// The addresses taken in one pool, with a next-fit cursor over the range that
// dynamic requests draw from. Allocation looks at the cursor first, so filling
// a pool costs the same per address at the start and at the end; a freed
// address is not handed out again until the cursor comes round (as moby's
// bitmap does), which keeps a departed container's address out of ARP caches.
import { type IpPrefix, lastOf } from '../net/ip.js';

export class AddressSet {
  private readonly used = new Set<bigint>();
  /** First and last address dynamic requests may return. */
  readonly first: bigint;
  readonly last: bigint;
  private cursor: bigint;
  private takenInRange = 0n;

  constructor(readonly pool: IpPrefix, range: IpPrefix = pool) {
    const [firstUsable, lastUsable] = usableBounds(pool);
    this.first = range.base > firstUsable ? range.base : firstUsable;
    this.last = lastOf(range) < lastUsable ? lastOf(range) : lastUsable;
    this.cursor = this.first;
  }

  get capacity(): bigint {
    return this.last >= this.first ? this.last - this.first + 1n : 0n;
  }

  get size(): number {
    return this.used.size;
  }

  /** Whether the address may be used at all (inside the pool, not network or broadcast). */
  isUsable(value: bigint): boolean {
    const [firstUsable, lastUsable] = usableBounds(this.pool);
    return value >= firstUsable && value <= lastUsable;
  }

  has(value: bigint): boolean {
    return this.used.has(value);
  }

  take(value: bigint): void {
    if (this.used.has(value)) return;
    this.used.add(value);
    if (value >= this.first && value <= this.last) this.takenInRange++;
  }

  free(value: bigint): void {
    if (!this.used.delete(value)) return;
    if (value >= this.first && value <= this.last) this.takenInRange--;
  }

  /** Moves the cursor past the highest taken address of the range (after loading from the store). */
  resumeAfterHighest(): void {
    let highest: bigint | undefined;
    for (const value of this.used) {
      if (value >= this.first && value <= this.last && (highest === undefined || value > highest)) highest = value;
    }
    if (highest !== undefined) this.cursor = highest === this.last ? this.first : highest + 1n;
  }

  /** Takes the next free address of the range, or returns undefined when the range is full. */
  takeNext(): bigint | undefined {
    if (this.takenInRange >= this.capacity) return undefined;
    let candidate = this.cursor;
    while (this.used.has(candidate)) candidate = candidate === this.last ? this.first : candidate + 1n;
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
