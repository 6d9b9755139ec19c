import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitGroups } from './commit-groups.js';
import type { Guard, Operation } from './store.js';

/** A store of key -> revision behind the groups, recording each transaction it was sent. */
function fakeStore(fail?: (operations: readonly Operation[]) => boolean) {
  const revisions = new Map<string, number>();
  const sent: string[][] = [];
  let revision = 0;
  const groups = new CommitGroups(async (guards: readonly Guard[], operations: readonly Operation[]) => {
    await Promise.resolve();
    sent.push(operations.map((o) => (o.type === 'deletePrefix' ? `${o.prefix}*` : o.key)));
    if (fail?.(operations)) throw new Error('store down');
    if (guards.some((g) => (revisions.get(g.key) ?? 0) !== g.revision)) return false;
    revision++;
    for (const o of operations) {
      if (o.type === 'put') revisions.set(o.key, revision);
      else if (o.type === 'delete') revisions.delete(o.key);
      else for (const key of revisions.keys()) if (key.startsWith(o.prefix)) revisions.delete(key);
    }
    return true;
  });
  return { groups, sent, revisions };
}
const put = (key: string): Operation => ({ type: 'put', key, value: 'v' });

test('commits made while one is in flight go together as one transaction', async () => {
  const { groups, sent } = fakeStore();
  const results = await Promise.all(['a', 'b', 'c', 'd'].map((k) => groups.commit([], [put(k)])));
  assert.deepEqual(results, [true, true, true, true]);
  assert.deepEqual(sent, [['a'], ['b', 'c', 'd']]);
});

test('a group whose guards do not all hold is split: only the commit whose guard failed fails', async () => {
  const { groups, sent, revisions } = fakeStore();
  revisions.set('taken', 7);
  const results = await Promise.all([
    groups.commit([], [put('first')]),
    groups.commit([{ key: 'b', revision: 0 }], [put('b')]),
    groups.commit([{ key: 'taken', revision: 0 }], [put('taken')]),
    groups.commit([{ key: 'd', revision: 0 }], [put('d')]),
  ]);
  assert.deepEqual(results, [true, true, false, true]);
  assert.deepEqual(sent.slice(1), [['b', 'taken', 'd'], ['b'], ['taken'], ['d']]);
  assert.ok(revisions.has('b') && revisions.has('d'));
});

test('commits to one key keep their order and never share a transaction', async () => {
  const { groups, sent } = fakeStore();
  await Promise.all([
    groups.commit([], [put('x')]),
    groups.commit([], [put('k')]),
    groups.commit([], [put('k'), put('y')]),
    groups.commit([], [put('y')]),
    groups.commit([], [put('z')]),
  ]);
  assert.deepEqual(sent, [['x'], ['k', 'z'], ['k', 'y'], ['y']]);
});

test('a prefix deletion goes alone, and nothing behind it overtakes it', async () => {
  const { groups, sent } = fakeStore();
  await Promise.all([
    groups.commit([], [put('x')]),
    groups.commit([], [put('p/1')]),
    groups.commit([], [{ type: 'deletePrefix', prefix: 'p/' }]),
    groups.commit([], [put('p/2')]),
  ]);
  assert.deepEqual(sent, [['x'], ['p/1'], ['p/*'], ['p/2']]);
});

test('a transaction that fails fails every commit in it, as each would have alone; the next ones go', async () => {
  const { groups } = fakeStore((operations) => operations.some((o) => o.type === 'put' && o.key === 'b'));
  const settled = await Promise.allSettled([
    groups.commit([], [put('a')]),
    groups.commit([], [put('b')]),
    groups.commit([], [put('c')]),
  ]);
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'rejected'],
  );
  assert.equal(await groups.commit([], [put('d')]), true);
});

test("groups stay under etcd's limit of operations per transaction", async () => {
  const { groups, sent } = fakeStore();
  await Promise.all(Array.from({ length: 100 }, (_, i) => groups.commit([], [put(`k${i}`)])));
  assert.deepEqual(
    sent.map((s) => s.length),
    [1, 64, 35],
  );
});

test('a commit that may wait goes with the next one that must go, or alone when its time is up', async () => {
  const { groups, sent } = fakeStore();
  const started = Date.now();
  const lazy = groups.commit([], [put('name')], 5_000);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(sent, [], 'it waits');
  await Promise.all([lazy, groups.commit([], [put('endpoint')])]);
  assert.deepEqual(sent, [['name', 'endpoint']]);
  assert.ok(Date.now() - started < 1_000);
  await groups.commit([], [put('alone')], 50);
  assert.ok(Date.now() - started >= 70);
  assert.deepEqual(sent.at(-1), ['alone']);
});
