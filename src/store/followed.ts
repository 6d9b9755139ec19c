// One prefix of a store, followed: read once at a revision, then
// kept by a watch from there. Each record is read alone: one that does not
// parse or make sense is held aside with why (for the audit and the metrics),
// and the rest go on. When etcd compacts past the watch, or the watch is lost,
// the prefix is read again at a new revision and the difference is told as
// changes, after a backoff.
import type { Logger } from 'pino';
import type { Change, Entry, Store } from './store.js';

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

/** Backoff of a read again after a lost watch: doubling from here, to the cap. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 10_000;

export class Followed<T> {
  private readonly held = new Map<string, { readonly record: T; readonly revision: number }>();
  /** Keys left out, with why: what the audit lists. */
  readonly unreadable = new Map<string, { readonly revision: number; readonly why: string }>();
  private unwatch: () => void = () => undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  /** Reads of the whole prefix: one at start, one per lost watch. */
  reads = 0;

  constructor(private readonly deps: FollowedDeps<T>) {}

  /** Reads the prefix and follows it; throws if the first read fails (the caller's start fails with it). */
  async start(): Promise<void> {
    await this.readAgain();
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
    this.closed = true;
    clearTimeout(this.retry);
    this.unwatch();
  }

  private async readAgain(): Promise<void> {
    this.reads++;
    const { entries, revision } = await this.deps.store.snapshot(this.deps.prefix);
    if (this.closed) return;
    const present = new Set(entries.map((e) => e.key));
    for (const key of [...this.held.keys(), ...this.unreadable.keys()]) {
      if (!present.has(key)) this.apply({ type: 'delete', key, revision });
    }
    for (const entry of entries) this.applyEntry(entry);
    this.unwatch = this.deps.store.watch(this.deps.prefix, (change) => this.apply(change), {
      after: revision,
      lost: (error) => this.lost(error, RETRY_FIRST_MS),
    });
  }

  private lost(error: Error, delay: number): void {
    if (this.closed) return;
    this.deps.log.warn(
      { prefix: this.deps.prefix, err: error.message },
      'a watch of the cluster store was lost; reading again',
    );
    this.retry = setTimeout(() => {
      this.readAgain().catch((failed: Error) => this.lost(failed, Math.min(RETRY_MAX_MS, delay * 2)));
    }, delay);
    this.retry.unref();
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
