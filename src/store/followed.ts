// One prefix of a store, followed (prefix-follower.ts) and held as records.
// Each record is read alone: one that does not parse or make sense is held
// aside with why (for the audit and the metrics), and the rest go on. When the
// prefix is read again after a lost watch, the difference is told as changes.
import type { Logger } from 'pino';
import { PrefixFollower } from './prefix-follower.js';
import type { Change, Entry, Snapshot, Store } from './store.js';

/** A record read from its key and text, or why it is left out. */
export type ReadResult<T> = { readonly record: T } | { readonly skip: string };

/** A key's record before and after a change; undefined where there was none (or none readable). */
export type RecordChange<T> = (key: string, now: T | undefined, before: T | undefined) => void;

export interface FollowedDeps<T> {
  readonly store: Store;
  readonly prefix: string;
  readonly read: (key: string, value: string) => ReadResult<T>;
  readonly changed: RecordChange<T>;
  /** A record left out, said once per revision of its key. */
  readonly skipped: (key: string, why: string) => void;
  readonly log: Logger;
}

export class Followed<T> {
  private readonly held = new Map<string, { readonly record: T; readonly revision: number }>();
  /** Keys left out, with why: what the audit lists. */
  readonly unreadable = new Map<string, { readonly revision: number; readonly why: string }>();
  private readonly follower: PrefixFollower;

  constructor(private readonly deps: FollowedDeps<T>) {
    this.follower = new PrefixFollower(deps.store, deps.prefix, {
      read: (snapshot) => this.read(snapshot),
      change: (change) => this.apply(change),
      lost: (error) =>
        deps.log.warn(
          { prefix: deps.prefix, err: error.message },
          'a watch of the cluster store was lost; reading again',
        ),
    });
  }

  /** Reads of the whole prefix: one at start, one per lost watch. */
  get reads(): number {
    return this.follower.reads;
  }

  /** Reads the prefix and follows it; throws if the first read fails (the caller's start fails with it). */
  start(): Promise<void> {
    return this.follower.start();
  }

  get(key: string): T | undefined {
    return this.held.get(key)?.record;
  }

  revisionOf(key: string): number | undefined {
    return this.held.get(key)?.revision;
  }

  records(): IterableIterator<[string, { readonly record: T; readonly revision: number }]> {
    return this.held.entries();
  }

  close(): void {
    this.follower.close();
  }

  /** A whole reading: keys gone since are told as removed, the others as they read now. */
  private read({ entries, revision }: Snapshot): void {
    const present = new Set(entries.map((e) => e.key));
    for (const key of [...this.held.keys(), ...this.unreadable.keys()]) {
      if (!present.has(key)) this.apply({ type: 'delete', key, revision });
    }
    for (const entry of entries) this.applyEntry(entry);
  }

  private applyEntry(entry: Entry): void {
    if (this.held.get(entry.key)?.revision === entry.revision) return;
    if (this.unreadable.get(entry.key)?.revision === entry.revision) return;
    this.apply({ type: 'put', key: entry.key, value: entry.value, revision: entry.revision });
  }

  private apply(change: Change): void {
    const before = this.held.get(change.key)?.record;
    const read: ReadResult<T> | undefined =
      change.type === 'put' ? this.deps.read(change.key, change.value ?? '') : undefined;
    if (read && 'skip' in read) {
      this.unreadable.set(change.key, { revision: change.revision, why: read.skip });
      this.deps.skipped(change.key, read.skip);
    } else this.unreadable.delete(change.key);
    if (read && 'record' in read) this.held.set(change.key, { record: read.record, revision: change.revision });
    else this.held.delete(change.key);
    const now = read && 'record' in read ? read.record : undefined;
    if (now !== undefined || before !== undefined) this.deps.changed(change.key, now, before);
  }
}
