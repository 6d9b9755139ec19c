// The fault injector itself: each kind of fault fails what it says, and only that.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FaultyStore } from './faulty.js';
import { SqliteStore } from './sqlite.js';
import { storeContract } from './store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-faulty-'));
let n = 0;
const open = () => new FaultyStore(new SqliteStore(join(dir, `db${n++}`)));
after(() => rmSync(dir, { recursive: true }));

describe('FaultyStore, not failing, is a Store like any other', () => {
  const inners = new WeakMap<FaultyStore, SqliteStore>();
  storeContract(
    async () => {
      const inner = new SqliteStore(join(dir, `db${n++}`));
      const store = new FaultyStore(inner);
      inners.set(store, inner);
      return store;
    },
    async (store, revision) => inners.get(store)?.compact(revision),
  );
});

test('the nth write fails once, and leaves the store as it was', async () => {
  const store = open();
  store.failWrite(2);
  await store.commit([], [{ type: 'put', key: 'k/1', value: '1' }]);
  await assert.rejects(store.commit([], [{ type: 'put', key: 'k/2', value: '2' }]), /failed a write/);
  assert.equal(await store.get('k/2'), undefined);
  await store.commit([], [{ type: 'put', key: 'k/2', value: '2' }]);
  assert.equal(store.writes, 2);
  await store.close();
});

test('writes under a prefix fail until healed; others go through', async () => {
  const store = open();
  store.failWritesUnder('a/');
  await assert.rejects(store.commit([], [{ type: 'put', key: 'a/1', value: '1' }]));
  await assert.rejects(store.commit([], [{ type: 'deletePrefix', prefix: 'a/x' }]));
  await store.commit([], [{ type: 'put', key: 'b/1', value: '1' }]);
  store.heal();
  await store.commit([], [{ type: 'put', key: 'a/1', value: '1' }]);
  await store.close();
});

test('a store that is down fails reads and writes alike', async () => {
  const store = open();
  store.failEverything();
  await assert.rejects(store.get('x'), /failed a read/);
  await assert.rejects(store.list('x'), /failed a read/);
  await assert.rejects(store.commit([], []), /failed a write/);
  store.heal();
  assert.deepEqual(await store.list('x'), []);
  await store.close();
});

test('lost watches are cancelled and told; a watch that cannot be lost goes on', async () => {
  const store = open();
  const seen: string[] = [];
  let lost = 0;
  store.watch('w/', (c) => seen.push(`losable ${c.key}`), { lost: () => lost++ });
  store.watch('w/', (c) => seen.push(`plain ${c.key}`));
  store.loseWatches();
  await store.commit([], [{ type: 'put', key: 'w/a', value: '1' }]);
  assert.equal(lost, 1);
  assert.deepEqual(seen, ['plain w/a']);
  await store.close();
});
