// What this host holds in a shared store, as it last wrote it: its hold on each pool and the
// address records it made. Other hosts delete all of it when they take this host for dead (cut
// off from etcd longer than the grace period); a host that was only cut off claims it back from
// here, since its replica of the store has followed the deletions.

export interface HeldPool<Record, Kind> {
  /** The pool's record as this host last saw it (its holders are not used). */
  record: Record;
  /** How many times this host's Docker requested the pool. */
  refs: number;
  /** Store key to what this host wrote there (the record is rebuilt from it). */
  readonly addresses: Map<string, Kind>;
}

export class Holdings<Record extends { id: string }, Kind> {
  private readonly pools = new Map<string, HeldPool<Record, Kind>>();

  /** One more request of the pool by this host. */
  holdPool(record: Record): void {
    const held = this.pools.get(record.id);
    if (held) {
      held.record = record;
      held.refs++;
    } else this.pools.set(record.id, { record, refs: 1, addresses: new Map() });
  }

  /** One request fewer; the pool and its addresses are no longer this host's after the last. Still held? */
  releasePool(id: string): boolean {
    const held = this.pools.get(id);
    if (held && --held.refs <= 0) this.pools.delete(id);
    return this.pools.has(id);
  }

  /** At load: what the store says this host holds. */
  load(record: Record, refs: number, addresses: Iterable<[string, Kind]>): void {
    this.pools.set(record.id, { record, refs, addresses: new Map(addresses) });
  }

  addressTaken(poolId: string, key: string, kind: Kind): void {
    this.pools.get(poolId)?.addresses.set(key, kind);
  }

  addressFreed(poolId: string, key: string): void {
    this.pools.get(poolId)?.addresses.delete(key);
  }

  all(): HeldPool<Record, Kind>[] {
    return [...this.pools.values()];
  }
}
