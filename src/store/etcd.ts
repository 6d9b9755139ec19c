// The cluster store: the same contract on etcd. A guard is a comparison in an
// etcd transaction (create revision 0 for "absent", mod revision otherwise),
// so every commit is atomic, commits made at once share one round trip, and
// watches are etcd's own.
import { ExponentialBackoff } from 'cockatiel';
import { Etcd3, type IOptions, Range, type Watcher } from 'etcd3';
import { TetherError } from '../errors.js';
import { CommitGroups } from './commit-groups.js';
import type { Change, Entry, Guard, Leases, Operation, Snapshot, Store, WatchOptions } from './store.js';

/**
 * Every unary call gets a deadline, so that with etcd unreachable Docker hears a clear error well
 * within its own patience, instead of a call hanging. Watches reconnect within seconds of etcd's
 * return (the client's default waits up to 30 s).
 */
const CALL_DEADLINE_MS = 5_000;

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;
// etcd3 1.1.2 types this as a backoff, but calls next() on it: it wants cockatiel's factory.
const WATCH_BACKOFF = new ExponentialBackoff({ initialDelay: 200, maxDelay: 2_000 }) as unknown as WatchBackoff;

export class EtcdStore implements Store, Leases {
  private readonly client: Etcd3;
  private readonly groups = new CommitGroups((guards, operations) => this.commitNow(guards, operations));

  constructor(
    options: IOptions,
    private readonly prefix = 'tether/',
    /** Keys per read of a list: 500 records of a few KB each stay well under the message limit. */
    private readonly pageKeys = 500,
  ) {
    this.client = new Etcd3({
      dialTimeout: CALL_DEADLINE_MS,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      faultHandling: { watchBackoff: WATCH_BACKOFF },
      ...options,
    });
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw new TetherError('STORE', `the cluster store (etcd) failed a ${what}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async health(): Promise<void> {
    await this.call('status read', () => this.client.maintenance.status());
  }

  async get(key: string): Promise<Entry | undefined> {
    const response = await this.call('read', () => this.client.get(this.prefix + key).exec());
    const kv = response.kvs[0];
    return kv && { key, value: kv.value.toString(), revision: Number(kv.mod_revision) };
  }

  /**
   * Every key under the prefix, read in pages of pageKeys at the first page's revision: one
   * consistent view, and no answer past gRPC's message limit (4 MiB) however much the prefix holds.
   */
  async list(prefix: string): Promise<Entry[]> {
    return (await this.snapshot(prefix)).entries;
  }

  async snapshot(prefix: string): Promise<Snapshot> {
    const { end } = Range.prefix(this.prefix + prefix);
    const entries: Entry[] = [];
    let start: Buffer | string = this.prefix + prefix;
    let revision: string | undefined;
    for (;;) {
      const page = await this.call('read', () => {
        const read = this.client.getAll().inRange({ start, end }).sort('Key', 'Ascend').limit(this.pageKeys);
        return (revision === undefined ? read : read.revision(revision)).exec();
      });
      revision ??= page.header.revision;
      for (const kv of page.kvs) {
        const key = kv.key.toString().slice(this.prefix.length);
        entries.push({ key, value: kv.value.toString(), revision: Number(kv.mod_revision) });
      }
      const last = page.kvs.at(-1)?.key;
      if (!page.more || !last) return { entries, revision: Number(revision) };
      // The next page starts just after the last key read.
      start = Buffer.concat([last, Buffer.from([0])]);
    }
  }

  /** Commits that arrive while one is in flight go together, as one transaction (commit-groups.ts). */
  commit(guards: readonly Guard[], operations: readonly Operation[], waitMs?: number): Promise<boolean> {
    return this.groups.commit(guards, operations, waitMs);
  }

  private async commitNow(guards: readonly Guard[], operations: readonly Operation[]): Promise<boolean> {
    // etcd's builder starts from one comparison; with no guard, "mod revision > -1" always holds.
    const first = operations[0];
    const anyKey = first?.type === 'deletePrefix' ? first.prefix : (first?.key ?? '');
    const comparisons: [string, 'Create' | 'Mod', '==' | '>', number][] = guards.length
      ? guards.map((g) => [this.prefix + g.key, g.revision === 0 ? 'Create' : 'Mod', '==', g.revision])
      : [[this.prefix + anyKey, 'Mod', '>', -1]];
    const [head, ...rest] = comparisons as [(typeof comparisons)[number], ...typeof comparisons];
    let txn = this.client.if(...head);
    for (const comparison of rest) txn = txn.and(...comparison);
    const clauses = operations.map((op) => {
      if (op.type === 'put') return this.client.put(this.prefix + op.key).value(op.value);
      if (op.type === 'delete') return this.client.delete().key(this.prefix + op.key);
      return this.client.delete().prefix(this.prefix + op.prefix);
    });
    const response = await this.call('write', () => txn.then(...clauses).commit());
    return response.succeeded;
  }

  watch(prefix: string, listener: (change: Change) => void, options: WatchOptions = {}): () => void {
    let closed = false;
    let current: Promise<Watcher> | undefined;
    /** Where a watch opened again resumes: after the last change delivered (0: from now). */
    let resumeAt = options.after === undefined ? 0 : options.after + 1;
    let failures = 0;
    const deliver = (change: Change) => {
      resumeAt = change.revision + 1;
      try {
        listener(change);
      } catch (error) {
        // etcd3 rethrows a listener's error outside any handler, which would end the process.
        console.error(`tether: a watch of ${prefix} failed on ${change.key}: ${(error as Error).message}`);
      }
    };
    // etcd cancelled the watch, or would not open it: its history past resumeAt may be compacted, so
    // with `lost` the caller reads again; without, the watch goes on from now. Either after a backoff,
    // so that a watch etcd keeps refusing does not spin.
    const reopen = (error: Error) => {
      if (closed) return;
      const delay = Math.min(5_000, 100 * 2 ** failures++);
      if (options.lost) {
        closed = true;
        const { lost } = options;
        return void setTimeout(() => lost(error), delay).unref();
      }
      resumeAt = 0;
      setTimeout(() => !closed && open(), delay).unref();
    };
    const open = () => {
      const builder = this.client.watch().prefix(this.prefix + prefix);
      current = (resumeAt ? builder.startRevision(String(resumeAt)) : builder).create();
      current.then((w) => {
        if (closed) return void w.cancel();
        failures = 0;
        const key = (kv: { key: Buffer }) => kv.key.toString().slice(this.prefix.length);
        const revision = (kv: { mod_revision: string }) => Number(kv.mod_revision);
        w.on('put', (kv) => deliver({ type: 'put', key: key(kv), value: kv.value.toString(), revision: revision(kv) }));
        w.on('delete', (kv) => deliver({ type: 'delete', key: key(kv), revision: revision(kv) }));
        // Unheard, this event would end the process.
        w.on('error', reopen);
      }, reopen);
    };
    open();
    return () => {
      closed = true;
      void current?.then(
        (w) => w.cancel(),
        () => undefined,
      );
    };
  }

  async putLeased(
    key: string,
    value: string,
    ttlSeconds: number,
    onLost: (error: Error) => void,
    expected: number,
  ): Promise<(() => Promise<void>) | undefined> {
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: true });
    lease.on('lost', onLost);
    const revoke = async () => {
      lease.removeListener('lost', onLost);
      await lease.revoke().catch(() => undefined);
    };
    try {
      const id = await this.call('lease', () => lease.grant());
      const full = this.prefix + key;
      const guard =
        expected === 0 ? this.client.if(full, 'Create', '==', 0) : this.client.if(full, 'Mod', '==', expected);
      const put = this.client.put(full).value(value).lease(id);
      const response = await this.call('lease', () => guard.then(put).commit());
      if (response.succeeded) return revoke;
    } catch (error) {
      lease.removeListener('lost', onLost);
      lease.release();
      throw error;
    }
    await revoke();
    return undefined;
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
