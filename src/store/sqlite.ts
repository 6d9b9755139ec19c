// The embedded single-host store: one SQLite file under the state directory,
// every commit one transaction, WAL so that a kill -9 never tears a write.
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { TetherError } from '../errors.js';
import type { Change, Entry, Guard, Operation, Store } from './store.js';

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly changes = new EventEmitter();
  private readonly statements;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; only a power loss may drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS kv (
      key TEXT PRIMARY KEY, value TEXT NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta VALUES ('revision', 0);`);
    this.statements = {
      get: this.db.prepare<[string], Entry>('SELECT key, value, revision FROM kv WHERE key = ?'),
      list: this.db.prepare<[string, string], Entry>(
        'SELECT key, value, revision FROM kv WHERE key >= ? AND key < ? ORDER BY key'),
      put: this.db.prepare('INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, revision = excluded.revision'),
      delete: this.db.prepare('DELETE FROM kv WHERE key = ?'),
      bump: this.db.prepare<[], { value: number }>("UPDATE meta SET value = value + 1 WHERE name = 'revision' RETURNING value"),
    };
  }

  async get(key: string): Promise<Entry | undefined> {
    return this.statements.get.get(key);
  }

  async list(prefix: string): Promise<Entry[]> {
    // Every key under the prefix sorts between the prefix and the prefix followed by U+FFFF.
    return this.statements.list.all(prefix, `${prefix}\uffff`);
  }

  private readonly transaction = (guards: readonly Guard[], operations: readonly Operation[]): boolean => {
    for (const guard of guards) {
      if ((this.statements.get.get(guard.key)?.revision ?? 0) !== guard.revision) return false;
    }
    const revision = this.statements.bump.get()?.value;
    for (const op of operations) {
      if (op.type === 'put') this.statements.put.run(op.key, op.value, revision);
      else this.statements.delete.run(op.key);
    }
    return true;
  };

  async commit(guards: readonly Guard[], operations: readonly Operation[]): Promise<boolean> {
    let committed: boolean;
    try {
      committed = this.db.transaction(this.transaction).immediate(guards, operations);
    } catch (error) {
      throw new TetherError('STORE', `state store write failed: ${(error as Error).message}`, { cause: error });
    }
    if (committed) {
      for (const op of operations) {
        const change: Change = op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : { type: 'delete', key: op.key };
        this.changes.emit('change', change);
      }
    }
    return committed;
  }

  watch(prefix: string, listener: (change: Change) => void): () => void {
    const filtered = (change: Change) => { if (change.key.startsWith(prefix)) listener(change); };
    this.changes.on('change', filtered);
    return () => this.changes.off('change', filtered);
  }

  async close(): Promise<void> {
    this.changes.removeAllListeners();
    this.db.close();
  }
}
