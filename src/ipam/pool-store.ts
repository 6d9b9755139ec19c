// Pool records in the store, changed only by compare-and-swap on the revision
// read, retried by the one bounded helper (util/retry.ts).
import type { Guard, Operation, Store } from '../store/store.js';
import { retryCas } from '../util/retry.js';
import {
  addressPrefix,
  blockPrefix,
  POOLS,
  type PoolRecord,
  parsePool,
  poolKey,
  poolText,
  readable,
} from './records.js';

export interface StoredPool {
  readonly revision: number;
  readonly record: PoolRecord;
}

export class PoolStore {
  constructor(private readonly store: Store) {}

  /** Every pool whose record reads; one that does not is left out (the replica lists it for the audit). */
  async list(): Promise<StoredPool[]> {
    return (await this.store.list(POOLS)).flatMap((e) => {
      const record = readable(() => parsePool(e.value));
      return record ? [{ revision: e.revision, record }] : [];
    });
  }

  async get(id: string): Promise<StoredPool | undefined> {
    const entry = await this.store.get(poolKey(id));
    return entry && { revision: entry.revision, record: parsePool(entry.value) };
  }

  /**
   * Writes the pool's record (or deletes the pool with its addresses, when nobody holds it) if it
   * is still at the revision read (0: absent) and the guards hold; a new pool also clears addresses
   * and blocks a crash left under its key.
   */
  commit(revision: number, record: PoolRecord, unless: readonly Guard[] = []): Promise<boolean> {
    const key = poolKey(record.id);
    const empty = Object.keys(record.holders).length === 0;
    const operations: Operation[] = [
      ...(empty || revision === 0
        ? [addressPrefix(record.id), blockPrefix(record.id)].map((prefix) => ({
            type: 'deletePrefix' as const,
            prefix,
          }))
        : []),
      empty ? { type: 'delete', key } : { type: 'put', key, value: poolText(record) },
    ];
    return this.store.commit([{ key, revision }, ...unless], operations);
  }

  /** Whether every guard still holds (a caller's guard that fails will fail every attempt). */
  async guardsHold(guards: readonly Guard[]): Promise<boolean> {
    for (const guard of guards) if (((await this.store.get(guard.key))?.revision ?? 0) !== guard.revision) return false;
    return true;
  }

  /**
   * Applies a change to the pool's holders, read fresh from the store, until it commits. Returns
   * the record written, or undefined when the pool is gone or a guard no longer holds.
   */
  changeHolders(
    id: string,
    change: (holders: Record<string, number>) => Record<string, number>,
    unless: readonly Guard[] = [],
  ): Promise<PoolRecord | undefined> {
    return retryCas(`pool ${id}`, async () => {
      const stored = await this.get(id);
      if (!stored) return { gone: true as const };
      const record = { ...stored.record, holders: change({ ...stored.record.holders }) };
      if (await this.commit(stored.revision, record, unless)) return { record };
      if (unless.length > 0 && !(await this.guardsHold(unless))) return { gone: true as const };
      return undefined;
    }).then((result) => ('record' in result ? result.record : undefined));
  }
}
