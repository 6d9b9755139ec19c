// A prefix of a store read at one revision and watched from there, so that no
// change is missed; when the watch is lost (etcd compacted past it), read again
// after a backoff and watched anew. What to make of a reading and of each
// change is the caller's: the cluster view's records (followed.ts), the IPAM's memory.
import type { Change, Snapshot, Store } from './store.js';

export interface PrefixHandlers {
  /** A whole reading of the prefix: at start, and again after each lost watch. */
  readonly read: (snapshot: Snapshot) => void;
  readonly change: (change: Change) => void;
  /** The watch was lost, or reading again failed: it is tried again after a backoff. */
  readonly lost?: (error: Error) => void;
}

/** Backoff of a read again after a lost watch: doubling from here, to the cap. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 10_000;

export class PrefixFollower {
  /** Reads of the whole prefix: one at start, one per lost watch. */
  reads = 0;
  private unwatch: () => void = () => undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly prefix: string,
    private readonly handlers: PrefixHandlers,
  ) {}

  /** Reads the prefix and follows it; throws if the first read fails (the caller's start fails with it). */
  start(): Promise<void> {
    return this.readAgain();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.unwatch();
  }

  private async readAgain(): Promise<void> {
    this.reads++;
    const snapshot = await this.store.snapshot(this.prefix);
    if (this.closed) return;
    this.handlers.read(snapshot);
    this.unwatch = this.store.watch(this.prefix, (change) => this.handlers.change(change), {
      after: snapshot.revision,
      lost: (error) => this.lost(error, RETRY_FIRST_MS),
    });
  }

  private lost(error: Error, delay: number): void {
    if (this.closed) return;
    this.handlers.lost?.(error);
    this.retry = setTimeout(() => {
      this.readAgain().catch((failed: Error) => this.lost(failed, Math.min(RETRY_MAX_MS, delay * 2)));
    }, delay);
    this.retry.unref();
  }
}
