// The embedded single-host store: one SQLite file under the state directory,
// every commit one transaction, WAL so that a kill -9 never tears a write.

import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import { TetherError } from '../errors.js';
import type { Change, Entry, Guard, Operation, Snapshot, Store, WatchOptions } from './store.js';

/** Changes kept for watches that start at a past revision, as etcd keeps history until it compacts. */
const HISTORY = 4_096;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly changes = new EventEmitter();
  private readonly statements;
  /** The latest changes, oldest first; those up to `compacted` are gone. */
  private history: Change[] = [];
  private compacted = 0;

  constructor(path: string) {
    this.db = new Database(path);
    // Every follower of a prefix is a listener: a host's view alone has five.
    this.changes.setMaxListeners(0);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; only a power loss may drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS kv (
      key TEXT PRIMARY KEY, value TEXT NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta VALUES ('revision', 0);`);
    this.statements = {
      get: this.db.prepare<[string], Entry>('SELECT key, value, revision FROM kv WHERE key = ?'),
      revision: this.db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'revision'"),
      list: this.db.prepare<[string, string], Entry>(
        'SELECT key, value, revision FROM kv WHERE key >= ? AND key < ? ORDER BY key',
      ),
      put: this.db.prepare(
        'INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, revision = ' +
          'excluded.revision',
      ),
      delete: this.db.prepare('DELETE FROM kv WHERE key = ?'),
      deleteRange: this.db.prepare<[string, string], { key: string }>(
        'DELETE FROM kv WHERE key >= ? AND key < ? RETURNING key',
      ),
      bump: this.db.prepare<[], { value: number }>(
        "UPDATE meta SET value = value + 1 WHERE name = 'revision' RETURNING value",
      ),
    };
  }

  async get(key: string): Promise<Entry | undefined> {
    return this.statements.get.get(key);
  }

  async health(): Promise<void> {
    this.statements.revision.get();
  }

  async list(prefix: string): Promise<Entry[]> {
    // Every key under the prefix sorts between the prefix and the prefix followed by U+FFFF.
    return this.statements.list.all(prefix, `${prefix}\uffff`);
  }

  async snapshot(prefix: string): Promise<Snapshot> {
    return this.db.transaction(() => ({
      entries: this.statements.list.all(prefix, `${prefix}\uffff`),
      revision: Number(this.statements.revision.get()?.value ?? 0),
    }))();
  }

  /** Forgets the changes up to the revision: a watch from before it is told it is lost, as etcd's would be. */
  compact(revision: number): void {
    this.compacted = Math.max(this.compacted, revision);
    this.history = this.history.filter((change) => change.revision > this.compacted);
  }

  /** Applies the commit; returns the changes it made, or undefined if a guard failed. */
  private readonly transaction = (guards: readonly Guard[], operations: readonly Operation[]): Change[] | undefined => {
    for (const guard of guards) {
      if ((this.statements.get.get(guard.key)?.revision ?? 0) !== guard.revision) return undefined;
    }
    const revision = Number(this.statements.bump.get()?.value);
    const changes: Change[] = [];
    for (const op of operations) {
      if (op.type === 'put') {
        this.statements.put.run(op.key, op.value, revision);
        changes.push({ type: 'put', key: op.key, value: op.value, revision });
      } else if (op.type === 'delete') {
        if (this.statements.delete.run(op.key).changes > 0) changes.push({ type: 'delete', key: op.key, revision });
      } else {
        for (const { key } of this.statements.deleteRange.all(op.prefix, `${op.prefix}\uffff`))
          changes.push({ type: 'delete', key, revision });
      }
    }
    return changes;
  };

  async commit(guards: readonly Guard[], operations: readonly Operation[]): Promise<boolean> {
    let changes: Change[] | undefined;
    try {
      changes = this.db.transaction(this.transaction).immediate(guards, operations);
    } catch (error) {
      throw new TetherError('STORE', `state store write failed: ${(error as Error).message}`, { cause: error });
    }
    for (const change of changes ?? []) {
      this.history.push(change);
      this.changes.emit('change', change);
    }
    const over = this.history.length - HISTORY;
    if (over > 0) this.compact(this.history[over - 1]?.revision ?? 0);
    return changes !== undefined;
  }

  /** A watch from a past revision is given the changes since, at once, before it returns. */
  watch(prefix: string, listener: (change: Change) => void, options: WatchOptions = {}): () => void {
    const { after, lost } = options;
    if (after !== undefined && after < this.compacted && lost) {
      queueMicrotask(() =>
        lost(new TetherError('STORE', `the store's history before revision ${this.compacted} is gone`)),
      );
      return () => undefined;
    }
    const filtered = (change: Change) => {
      if (!change.key.startsWith(prefix) || change.revision <= (after ?? 0)) return;
      try {
        listener(change);
      } catch (error) {
        // The write is done: a listener's failure must not make the commit look failed.
        console.error(`tether: a watch of ${prefix} failed on ${change.key}: ${(error as Error).message}`);
      }
    };
    if (after !== undefined && after >= this.compacted) for (const change of this.history) filtered(change);
    this.changes.on('change', filtered);
    return () => this.changes.off('change', filtered);
  }

  async close(): Promise<void> {
    this.changes.removeAllListeners();
    this.db.close();
  }
}
