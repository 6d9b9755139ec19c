// The cluster view over a real SQLite store (the etcd one: view-etcd.test.ts):
// each record read alone, changes told as they come, and a lost watch read again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultyStore } from '../../store/faulty.js';
import { SqliteStore } from '../../store/sqlite.js';
import { HOSTS, MEMBERS, NETWORKS, SWARM_NETWORKS } from '../records.js';
import { startedView } from './testing.js';
import type { ClusterView } from './view.js';

let dir: string;
let store: FaultyStore;
let view: ClusterView | undefined;
const put = (key: string, value: unknown) =>
  store.commit([], [{ type: 'put', key, value: typeof value === 'string' ? value : JSON.stringify(value) }]);
const member = (host: string, mac: string, ...addresses: string[]) => ({ host, mac, addresses });
const network = (name: string, subnet: string) => ({
  name,
  vni: 7,
  internal: false,
  ipv6: false,
  options: {},
  ipam: [{ subnet, aux: {} }],
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-view-'));
  store = new FaultyStore(new SqliteStore(join(dir, 'db')));
});
afterEach(async () => {
  view?.close();
  await store.close();
  rmSync(dir, { recursive: true });
});

test('each malformed record is left out with why; the rest of the view works', async () => {
  await put(`${NETWORKS}web`, network('web', '10.1.0.0/24'));
  await put(`${SWARM_NETWORKS}bad`, { networkId: 'bad', vni: 0 });
  await put(`${HOSTS}b`, { host: 'b', vtep: '192.0.2.2', startedAt: 1 });
  await put(`${HOSTS}c`, { host: 'b', vtep: '192.0.2.3', startedAt: 1 });
  await put(`${HOSTS}d`, { host: 'd' });
  await put(`${MEMBERS}web/good`, member('b', '02:42:0a:01:00:02', '10.1.0.2'));
  const bad: Record<string, unknown> = {
    'web/not-an-address': member('b', '02:42:0a:01:00:03', 'ten.one'),
    'web/upper-mac': member('b', '02:42:0A:01:00:04', '10.1.0.4'),
    'web/group-mac': member('b', '03:42:0a:01:00:05', '10.1.0.5'),
    'web/outside': member('b', '02:42:0a:01:00:06', '10.9.0.6'),
    'web/mine': member('b', '02:42:0a:01:00:07', '192.0.2.1'),
    'web/loopback': member('b', '02:42:0a:01:00:08', '127.0.0.1'),
    'web/deep/key': member('b', '02:42:0a:01:00:09', '10.1.0.9'),
    'web/not-json': '{',
  };
  for (const [key, value] of Object.entries(bad)) await put(MEMBERS + key, value);
  view = await startedView(store, 'a', '192.0.2.1');
  assert.deepEqual(
    view.liveHosts().map((h) => h.host),
    ['b'],
  );
  assert.deepEqual(
    [...view.membersOf('web')].map((m) => m.endpoint),
    ['good'],
  );
  const unreadable = new Map(view.unreadable().map((u) => [u.key, u.why]));
  assert.deepEqual(
    [...unreadable.keys()].sort(),
    [`${HOSTS}c`, `${HOSTS}d`, ...Object.keys(bad).map((k) => MEMBERS + k), `${SWARM_NETWORKS}bad`].sort(),
  );
  assert.match(unreadable.get(`${HOSTS}c`) ?? '', /registers host b under the name c/);
  assert.match(unreadable.get(`${MEMBERS}web/group-mac`) ?? '', /multicast/);
  assert.match(unreadable.get(`${MEMBERS}web/outside`) ?? '', /outside network web's subnets/);
  assert.match(unreadable.get(`${MEMBERS}web/mine`) ?? '', /this host's own/);
  assert.match(unreadable.get(`${MEMBERS}web/loopback`) ?? '', /loopback/);
  // Put right, a record is read again and counted no more as unreadable.
  await put(`${MEMBERS}web/upper-mac`, member('b', '02:42:0a:01:00:04', '10.1.0.4'));
  assert.equal(
    view.unreadable().some((u) => u.key === `${MEMBERS}web/upper-mac`),
    false,
  );
  assert.deepEqual([...view.membersOf('web')].map((m) => m.endpoint).sort(), ['good', 'upper-mac']);
  assert.equal(view.stats.skipped.get(MEMBERS), Object.keys(bad).length);
});

test('changes are told as they come, indexed by network, host and address, with no read of the store', async () => {
  view = await startedView(store);
  const told: string[] = [];
  view.onMember((now, before) => told.push(`${before?.endpoint ?? '-'} -> ${now?.endpoint ?? '-'}`));
  const reads = store.lists;
  await put(`${MEMBERS}web/one`, member('b', '02:42:0a:01:00:02', '10.1.0.2'));
  await put(`${MEMBERS}web/one`, member('c', '02:42:0a:01:00:02', '10.1.0.3'));
  assert.deepEqual(
    view.ownedBy('b').map((o) => o.member.key),
    [],
  );
  assert.deepEqual(
    view.ownedBy('c').map((o) => o.member.key),
    [`${MEMBERS}web/one`],
  );
  assert.equal(view.holderOf('web', { version: 4, value: 0x0a010003n })?.endpoint, 'one');
  assert.equal(view.holderOf('web', { version: 4, value: 0x0a010002n }), undefined);
  await store.commit([], [{ type: 'delete', key: `${MEMBERS}web/one` }]);
  assert.deepEqual(told, ['- -> one', 'one -> one', 'one -> -']);
  assert.equal(store.lists, reads);
});

test('a lost watch is read again after a backoff, and what changed meanwhile is told as changes', async () => {
  await put(`${MEMBERS}web/stays`, member('b', '02:42:0a:01:00:02', '10.1.0.2'));
  await put(`${MEMBERS}web/goes`, member('b', '02:42:0a:01:00:03', '10.1.0.3'));
  view = await startedView(store);
  const told: string[] = [];
  view.onMember((now, before) => told.push(`${before?.endpoint ?? '-'} -> ${now?.endpoint ?? '-'}`));
  store.loseWatches();
  // Unseen by any watch: as changes etcd compacted away before the view came back.
  await store.commit([], [{ type: 'delete', key: `${MEMBERS}web/goes` }]);
  await put(`${MEMBERS}web/comes`, member('b', '02:42:0a:01:00:04', '10.1.0.4'));
  assert.equal(told.length, 0);
  for (let i = 0; i < 100 && told.length < 2; i++) await sleep(20);
  assert.deepEqual(told.sort(), ['- -> comes', 'goes -> -']);
  assert.deepEqual([...view.membersOf('web')].map((m) => m.endpoint).sort(), ['comes', 'stays']);
  // Followed again from the new revision.
  await put(`${MEMBERS}web/later`, member('b', '02:42:0a:01:00:05', '10.1.0.5'));
  assert.ok(told.includes('- -> later'));
  assert.equal(view.stats.reads(), 4 + 4);
});
