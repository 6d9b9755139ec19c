// The one suite every Store backend passes, so that SQLite and etcd keep the
// same semantics: guarded atomic commits, prefix listing, watches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Change, Store } from './store.js';

/** compact: makes the store forget its history up to the revision (etcd's compaction). */
export function storeContract<S extends Store>(
  open: () => Promise<S>,
  compact: (store: S, revision: number) => Promise<void>,
): void {
  const withStore = (name: string, body: (store: S) => Promise<void>) =>
    test(name, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

  withStore('a committed put can be read back with a revision; a missing key is undefined', async (store) => {
    assert.equal(await store.get('a/missing'), undefined);
    assert.equal(await store.commit([], [{ type: 'put', key: 'a/one', value: '1' }]), true);
    const entry = await store.get('a/one');
    assert.equal(entry?.value, '1');
    assert.ok((entry?.revision ?? 0) > 0);
  });

  withStore('health answers on a store that works, empty or not', async (store) => {
    await store.health();
    await store.commit([], [{ type: 'put', key: 'h/1', value: '1' }]);
    await store.health();
  });

  withStore('list returns the keys under a prefix, sorted, and nothing else', async (store) => {
    await store.commit(
      [],
      [
        { type: 'put', key: 'b/2', value: 'two' },
        { type: 'put', key: 'b/1', value: 'one' },
        { type: 'put', key: 'bb/x', value: 'x' },
      ],
    );
    assert.deepEqual(
      (await store.list('b/')).map((e) => [e.key, e.value]),
      [
        ['b/1', 'one'],
        ['b/2', 'two'],
      ],
    );
  });

  withStore('create-if-absent succeeds once; a stale revision fails; a failed guard applies nothing', async (store) => {
    assert.equal(
      await store.commit([{ key: 'c/k', revision: 0 }], [{ type: 'put', key: 'c/k', value: 'first' }]),
      true,
    );
    assert.equal(
      await store.commit([{ key: 'c/k', revision: 0 }], [{ type: 'put', key: 'c/k', value: 'second' }]),
      false,
    );
    const current = await store.get('c/k');
    assert.equal(current?.value, 'first');
    assert.equal(
      await store.commit(
        [{ key: 'c/k', revision: current?.revision ?? 0 }],
        [{ type: 'put', key: 'c/k', value: 'third' }],
      ),
      true,
    );
    assert.equal(
      await store.commit(
        [{ key: 'c/k', revision: current?.revision ?? 0 }],
        [{ type: 'put', key: 'c/k', value: 'stale' }],
      ),
      false,
    );
    assert.equal(
      await store.commit(
        [
          { key: 'c/new', revision: 0 },
          { key: 'c/k', revision: 0 },
        ],
        [
          { type: 'put', key: 'c/new', value: 'x' },
          { type: 'delete', key: 'c/k' },
        ],
      ),
      false,
    );
    assert.equal(await store.get('c/new'), undefined, 'all or nothing');
    assert.equal((await store.get('c/k'))?.value, 'third');
  });

  withStore('a delete removes the key; deleting a missing key is no error', async (store) => {
    await store.commit([], [{ type: 'put', key: 'd/k', value: 'v' }]);
    assert.equal(
      await store.commit(
        [],
        [
          { type: 'delete', key: 'd/k' },
          { type: 'delete', key: 'd/none' },
        ],
      ),
      true,
    );
    assert.equal(await store.get('d/k'), undefined);
  });

  withStore('deletePrefix removes every key under the prefix in the commit, and nothing beside', async (store) => {
    await store.commit(
      [],
      [
        { type: 'put', key: 'p/a/1', value: '1' },
        { type: 'put', key: 'p/a/2', value: '2' },
        { type: 'put', key: 'p/ab', value: 'x' },
      ],
    );
    assert.equal(
      await store.commit(
        [],
        [
          { type: 'deletePrefix', prefix: 'p/a/' },
          { type: 'put', key: 'p/b', value: 'y' },
        ],
      ),
      true,
    );
    assert.deepEqual(
      (await store.list('p/')).map((e) => e.key),
      ['p/ab', 'p/b'],
    );
  });

  withStore('of many concurrent creates of one key, exactly one wins', async (store) => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.commit([{ key: 'e/lock', revision: 0 }], [{ type: 'put', key: 'e/lock', value: String(i) }]),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1);
  });

  withStore('concurrent commits on other keys each apply all or nothing, whatever the others do', async (store) => {
    await store.commit([], [{ type: 'put', key: 'g/taken', value: 'x' }]);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const key = i % 5 === 0 ? 'g/taken' : `g/${i}`;
        return store.commit(
          [{ key, revision: 0 }],
          [
            { type: 'put', key, value: String(i) },
            { type: 'put', key: `h/${i}`, value: String(i) },
          ],
        );
      }),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => i % 5 !== 0),
    );
    assert.deepEqual(
      (await store.list('h/')).map((e) => e.key).sort(),
      [
        ...Array.from({ length: 20 }, (_, i) => i)
          .filter((i) => i % 5 !== 0)
          .map((i) => `h/${i}`),
      ].sort(),
    );
  });

  withStore('a watch sees puts and deletes under its prefix, until it is cancelled', async (store) => {
    const seen: Change[] = [];
    const cancel = store.watch('w/', (change) => seen.push(change));
    await sleep(200); // etcd's watch is set up asynchronously
    await store.commit(
      [],
      [
        { type: 'put', key: 'w/a', value: '1' },
        { type: 'put', key: 'x/other', value: '2' },
      ],
    );
    await store.commit([], [{ type: 'delete', key: 'w/a' }]);
    for (let i = 0; i < 50 && seen.length < 2; i++) await sleep(20);
    assert.deepEqual(
      seen.map(({ type, key, value }) => ({ type, key, value })),
      [
        { type: 'put', key: 'w/a', value: '1' },
        { type: 'delete', key: 'w/a', value: undefined },
      ],
    );
    assert.ok((seen[0]?.revision ?? 0) > 0 && (seen[1]?.revision ?? 0) > (seen[0]?.revision ?? 0));
    cancel();
    await sleep(100);
    await store.commit([], [{ type: 'put', key: 'w/b', value: '3' }]);
    await sleep(200);
    assert.equal(seen.length, 2);
  });

  withStore('a listener that throws fails neither the commit nor the changes after it', async (store) => {
    const seen: string[] = [];
    const cancel = store.watch('t/', (change) => {
      seen.push(change.key);
      if (change.key === 't/bad') throw new Error('a listener bug');
    });
    await sleep(200); // etcd's watch is set up asynchronously
    assert.equal(await store.commit([], [{ type: 'put', key: 't/bad', value: '1' }]), true);
    await store.commit([], [{ type: 'put', key: 't/good', value: '2' }]);
    for (let i = 0; i < 50 && seen.length < 2; i++) await sleep(20);
    assert.deepEqual(seen, ['t/bad', 't/good']);
    cancel();
  });

  withStore('a watch after a snapshot gets every change since, made before it opened too', async (store) => {
    await store.commit([], [{ type: 'put', key: 's/a', value: '1' }]);
    const { entries, revision } = await store.snapshot('s/');
    assert.equal(entries.map((e) => e.key).join(), 's/a');
    await store.commit([], [{ type: 'put', key: 's/b', value: '2' }]);
    await store.commit([], [{ type: 'put', key: 'other/x', value: '3' }]);
    const seen: string[] = [];
    const cancel = store.watch('s/', (change) => seen.push(`${change.type} ${change.key}`), { after: revision });
    await store.commit([], [{ type: 'delete', key: 's/a' }]);
    for (let i = 0; i < 50 && seen.length < 2; i++) await sleep(20);
    assert.deepEqual(seen, ['put s/b', 'delete s/a']);
    cancel();
  });

  withStore('a watch from a revision the store forgot is told it is lost, and delivers nothing', async (store) => {
    const { revision } = await store.snapshot('l/');
    await store.commit([], [{ type: 'put', key: 'l/a', value: '1' }]);
    await store.commit([], [{ type: 'put', key: 'l/b', value: '2' }]);
    const latest = (await store.get('l/b'))?.revision ?? 0;
    await compact(store, latest);
    const seen: string[] = [];
    let lost: Error | undefined;
    const cancel = store.watch('l/', (change) => seen.push(change.key), { after: revision, lost: (e) => (lost = e) });
    for (let i = 0; i < 100 && !lost; i++) await sleep(20);
    assert.ok(lost, 'lost was called');
    assert.deepEqual(seen, []);
    cancel();
  });
}
