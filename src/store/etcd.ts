// The cluster store: the same contract on etcd. A guard is a comparison in an
// etcd transaction (create revision 0 for "absent", mod revision otherwise),
// so every commit is one atomic round trip, and watches are etcd's own.
import { Etcd3, type IOptions } from 'etcd3';
import { TetherError } from '../errors.js';
import type { Change, Entry, Guard, Operation, Store } from './store.js';

export class EtcdStore implements Store {
  private readonly client: Etcd3;

  constructor(options: IOptions, private readonly prefix = 'tether/') {
    this.client = new Etcd3(options);
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw new TetherError('STORE', `etcd ${what} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async get(key: string): Promise<Entry | undefined> {
    const response = await this.call('get', () => this.client.get(this.prefix + key).exec());
    const kv = response.kvs[0];
    return kv && { key, value: kv.value.toString(), revision: Number(kv.mod_revision) };
  }

  async list(prefix: string): Promise<Entry[]> {
    const response = await this.call('list', () => this.client.getAll().prefix(this.prefix + prefix).sort('Key', 'Ascend').exec());
    return response.kvs.map((kv) => ({
      key: kv.key.toString().slice(this.prefix.length), value: kv.value.toString(), revision: Number(kv.mod_revision),
    }));
  }

  async commit(guards: readonly Guard[], operations: readonly Operation[]): Promise<boolean> {
    // etcd's builder starts from one comparison; with no guard, "mod revision > -1" always holds.
    const comparisons: [string, 'Create' | 'Mod', '==' | '>', number][] = guards.length
      ? guards.map((g) => [this.prefix + g.key, g.revision === 0 ? 'Create' : 'Mod', '==', g.revision])
      : [[this.prefix + (operations[0]?.key ?? ''), 'Mod', '>', -1]];
    const [head, ...rest] = comparisons as [typeof comparisons[number], ...typeof comparisons];
    let txn = this.client.if(...head);
    for (const comparison of rest) txn = txn.and(...comparison);
    const clauses = operations.map((op) => (op.type === 'put'
      ? this.client.put(this.prefix + op.key).value(op.value)
      : this.client.delete().key(this.prefix + op.key)));
    const response = await this.call('commit', () => txn.then(...clauses).commit());
    return response.succeeded;
  }

  watch(prefix: string, listener: (change: Change) => void): () => void {
    let closed = false;
    const watcher = this.client.watch().prefix(this.prefix + prefix).create();
    void watcher.then((w) => {
      if (closed) return void w.cancel();
      w.on('put', (kv) => listener({ type: 'put', key: kv.key.toString().slice(this.prefix.length), value: kv.value.toString() }));
      w.on('delete', (kv) => listener({ type: 'delete', key: kv.key.toString().slice(this.prefix.length) }));
    }, () => undefined);
    return () => {
      closed = true;
      void watcher.then((w) => w.cancel(), () => undefined);
    };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
