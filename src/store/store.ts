// The narrow key-value contract every state backend implements. It is shaped
// after etcd (revisions, multi-key transactions guarded by revisions, watches)
// so that the embedded SQLite store and a cluster store behave the same.

export interface Entry {
  readonly key: string;
  readonly value: string;
  /** Changes on every write of this key; never 0 for a stored key. */
  readonly revision: number;
}

/** A guard on a transaction: the key's revision must equal this, 0 meaning "absent". */
export interface Guard {
  readonly key: string;
  readonly revision: number;
}

export type Operation =
  | { readonly type: 'put'; readonly key: string; readonly value: string }
  | { readonly type: 'delete'; readonly key: string }
  /** Deletes every key under the prefix (a pool's addresses, a dead host's records) in the same commit. */
  | { readonly type: 'deletePrefix'; readonly prefix: string };

export interface Change {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value?: string;
  /** The store's revision that made the change. */
  readonly revision: number;
}

/** Every key under a prefix as of one revision of the whole store. */
export interface Snapshot {
  readonly entries: Entry[];
  readonly revision: number;
}

export interface WatchOptions {
  /** Delivers the changes made after this revision (a snapshot's), none missed; else from now on. */
  readonly after?: number;
  /**
   * The store can no longer deliver every change since the watch's last one (etcd compacted its
   * history past it): called once, and the watch ends. The caller reads again and watches anew.
   * Without it, the watch goes on from the store's present revision, and what came between is missed.
   */
  readonly lost?: (error: Error) => void;
}

export interface Store {
  get(key: string): Promise<Entry | undefined>;
  list(prefix: string): Promise<Entry[]>;
  /** Every key under the prefix, with the revision they were read at: a watch from there misses nothing. */
  snapshot(prefix: string): Promise<Snapshot>;
  /**
   * Applies every operation atomically if every guard holds; false otherwise. waitMs: how long it
   * may wait to share a transaction with other commits (etcd's); a store that shares none ignores it.
   */
  commit(guards: readonly Guard[], operations: readonly Operation[], waitMs?: number): Promise<boolean>;
  /** Calls the listener for each committed change under the prefix, in order; returns an unsubscribe. */
  watch(prefix: string, listener: (change: Change) => void, options?: WatchOptions): () => void;
  /** Resolves when the store answers now; throws what keeps it from answering (status, readiness). */
  health(): Promise<void>;
  close(): Promise<void>;
}

/** Keys that live only while their owner keeps renewing them (etcd leases); the cluster store has them. */
export interface Leases {
  /**
   * Puts the key under a lease of ttlSeconds, renewed in the background, if the key's revision is
   * `expected` (0: absent). onLost is called if the lease expires all the same (the store was
   * unreachable too long). Returns a revoke; undefined, and nothing written, if the guard failed.
   */
  putLeased(
    key: string,
    value: string,
    ttlSeconds: number,
    onLost: (error: Error) => void,
    expected: number,
  ): Promise<(() => Promise<void>) | undefined>;
}
