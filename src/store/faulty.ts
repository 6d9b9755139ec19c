// A Store that fails on purpose, around any other: the Nth write from now,
// every write under a prefix, a write that lands but reports failure (a
// deadline that passed as etcd applied it), every call until told otherwise,
// or its watches lost (etcd compacted past them). Tests use it
// to prove that a failing store leaves memory, store and kernel in agreement.
import { TetherError } from '../errors.js';
import type { Change, Entry, Guard, Operation, Snapshot, Store, WatchOptions } from './store.js';

const touched = (operation: Operation) => (operation.type === 'deletePrefix' ? operation.prefix : operation.key);

export class FaultyStore implements Store {
  /** Writes (commits) that reached the inner store, failed ones not counted. */
  writes = 0;
  /** Reads of a whole prefix (list or snapshot), failed ones counted too. */
  lists = 0;
  private failAt: number | undefined;
  private failPrefix: string | undefined;
  private down = false;
  private landThenFail = false;
  /** Open watches that can be told they are lost. */
  private readonly losable = new Set<{ cancel: () => void; lost: (error: Error) => void }>();

  constructor(private readonly inner: Store) {}

  /** The nth commit from now fails (1: the next one), once. */
  failWrite(n: number): void {
    this.failAt = this.writes + n;
  }

  /** Every commit that touches a key under the prefix fails, until healed. */
  failWritesUnder(prefix: string): void {
    this.failPrefix = prefix;
  }

  /** The next commit reaches the inner store and then fails, once: the caller cannot tell it landed. */
  failAfterNextWrite(): void {
    this.landThenFail = true;
  }

  /** Every call fails, until healed (the store is unreachable). */
  failEverything(): void {
    this.down = true;
  }

  /** Every open watch that can be lost is: cancelled and told, as etcd's compaction past it would. */
  loseWatches(): void {
    for (const watch of [...this.losable]) {
      this.losable.delete(watch);
      watch.cancel();
      watch.lost(this.fault('watch (history compacted)'));
    }
  }

  heal(): void {
    this.failAt = undefined;
    this.failPrefix = undefined;
    this.down = false;
    this.landThenFail = false;
  }

  private fault(what: string): TetherError {
    return new TetherError('STORE', `the store failed a ${what} (injected)`);
  }

  async health(): Promise<void> {
    if (this.down) throw this.fault('read');
    return this.inner.health();
  }

  async get(key: string): Promise<Entry | undefined> {
    if (this.down) throw this.fault('read');
    return this.inner.get(key);
  }

  async list(prefix: string): Promise<Entry[]> {
    this.lists++;
    if (this.down) throw this.fault('read');
    return this.inner.list(prefix);
  }

  async snapshot(prefix: string): Promise<Snapshot> {
    this.lists++;
    if (this.down) throw this.fault('read');
    return this.inner.snapshot(prefix);
  }

  async commit(guards: readonly Guard[], operations: readonly Operation[], waitMs?: number): Promise<boolean> {
    const prefix = this.failPrefix;
    const underPrefix = prefix !== undefined && operations.some((o) => touched(o).startsWith(prefix));
    if (this.down || underPrefix || this.failAt === this.writes + 1) {
      if (this.failAt === this.writes + 1) this.failAt = undefined;
      throw this.fault('write');
    }
    const committed = await this.inner.commit(guards, operations, waitMs);
    this.writes++;
    if (this.landThenFail) {
      this.landThenFail = false;
      throw this.fault('write (after it landed)');
    }
    return committed;
  }

  watch(prefix: string, listener: (change: Change) => void, options?: WatchOptions): () => void {
    const cancel = this.inner.watch(prefix, listener, options);
    const lost = options?.lost;
    if (!lost) return cancel;
    const watch = { cancel, lost };
    this.losable.add(watch);
    return () => {
      this.losable.delete(watch);
      cancel();
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
