// Group commit: commits that arrive while one transaction is in flight wait
// and then go together as one, and a commit that may wait (a container's name
// for the cluster's records, say) waits up to its limit for another to go
// with. Each keeps its own all-or-nothing meaning: a group whose guards do not
// all hold is split and each member tried alone. For etcd every transaction
// is a raft entry written by every member, so under load (many containers
// starting at once) fewer, larger transactions keep the cluster's write rate
// down.
import type { Guard, Operation } from './store.js';

type CommitNow = (guards: readonly Guard[], operations: readonly Operation[]) => Promise<boolean>;

interface Waiting {
  readonly guards: readonly Guard[];
  readonly operations: readonly Operation[];
  /** Every key it guards or writes; undefined: it goes alone. */
  readonly keys: readonly string[] | undefined;
  /** When it must go, even alone (Date.now() milliseconds). */
  readonly due: number;
  readonly resolve: (committed: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** etcd refuses a transaction of more than 128 operations (--max-txn-ops); groups stay well under it. */
const MAX_GROUP_OPERATIONS = 64;

export class CommitGroups {
  private readonly waiting: Waiting[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly commitNow: CommitNow) {}

  /** Commits; waitMs: how long it may wait to share a transaction with another commit. */
  commit(guards: readonly Guard[], operations: readonly Operation[], waitMs = 0): Promise<boolean> {
    const keys = keysOf(guards, operations);
    return new Promise((resolve, reject) => {
      this.waiting.push({ guards, operations, keys, due: Date.now() + waitMs, resolve, reject });
      this.kick();
    });
  }

  /** Sends groups while any waiting commit is due; else wakes when the first one will be. */
  private kick(): void {
    clearTimeout(this.timer);
    if (this.flushing || this.waiting.length === 0) return;
    const now = Date.now();
    const due = Math.min(...this.waiting.map((w) => w.due));
    if (due <= now) void this.flush();
    else this.timer = setTimeout(() => this.kick(), due - now);
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.waiting.some((w) => w.due <= Date.now())) await this.send(this.nextGroup());
    this.flushing = false;
    this.kick();
  }

  /**
   * The oldest waiting commit and every later one that touches none of the keys of those before it
   * (etcd refuses a key twice in one transaction, and commits to one key keep their order), up to
   * the size limit.
   */
  private nextGroup(): Waiting[] {
    const [first] = this.waiting.splice(0, 1) as [Waiting];
    const group = [first];
    if (!first.keys) return group;
    const seen = new Set(first.keys);
    let size = first.operations.length + first.guards.length;
    for (let i = 0; i < this.waiting.length; ) {
      const next = this.waiting[i] as Waiting;
      // A prefix deletion later in line is a barrier: nothing after it goes before it.
      if (!next.keys) break;
      const nextSize = next.operations.length + next.guards.length;
      const joins = size + nextSize <= MAX_GROUP_OPERATIONS && !next.keys.some((k) => seen.has(k));
      for (const key of next.keys) seen.add(key);
      if (!joins) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      group.push(next);
      size += nextSize;
    }
    return group;
  }

  private async send(group: Waiting[]): Promise<void> {
    try {
      const committed = await this.commitNow(
        group.flatMap((w) => w.guards),
        group.flatMap((w) => w.operations),
      );
      if (committed || group.length === 1) {
        for (const w of group) w.resolve(committed);
        return;
      }
    } catch (error) {
      // Landed or not, no member can tell; each hears the error, as it would have alone.
      for (const w of group) w.reject(error);
      return;
    }
    // Some member's guard failed: each alone decides which.
    await Promise.all(
      group.map(async (w) => {
        try {
          w.resolve(await this.commitNow(w.guards, w.operations));
        } catch (error) {
          w.reject(error);
        }
      }),
    );
  }
}

function keysOf(guards: readonly Guard[], operations: readonly Operation[]): string[] | undefined {
  const keys = new Set(guards.map((g) => g.key));
  for (const operation of operations) {
    // A prefix deletion may touch any key.
    if (operation.type === 'deletePrefix') return undefined;
    keys.add(operation.key);
  }
  return [...keys];
}
