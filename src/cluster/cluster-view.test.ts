// What `tether cluster ls` and the dashboard see of the cluster: every
// published endpoint, and a host between its lease's end and the grace's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, Host, useSharedStore } from '../../test/support/cluster-hosts.js';
import { CLUSTER_PATH, clusterView } from '../operator/contract.js';

const shared = useSharedStore();
const web = { 'tether.cluster': 'web' };

test('a host whose lease ended is listed dead, with its endpoints, until the grace period ends', async () => {
  const grace = { deadHostGrace: '60' };
  const [a, b] = [
    await new Host(shared(), 'a', '192.0.2.1', grace).start(),
    await new Host(shared(), 'b', '192.0.2.2', grace).start(),
  ];
  const pool = await a.createNetwork('a'.repeat(64), '10.60.7.0/24', web);
  await b.createNetwork('b'.repeat(64), '10.60.7.0/24', web);
  const address = await b.run('b'.repeat(64), pool, '2'.repeat(64));
  const view = async () => {
    const answer = clusterView.parse((await a.daemon.app.inject({ method: 'GET', url: CLUSTER_PATH })).json());
    assert.ok(answer.enabled);
    return answer;
  };
  const before = await view();
  assert.deepEqual(before.dead, []);
  assert.deepEqual(
    before.members.map((m) => [m.network, m.endpoint, m.host, m.addresses]),
    [['web', '2'.repeat(64), 'b', [address.split('/')[0]]]],
  );
  assert.match(before.members[0]?.mac ?? '', /^02:74:/);

  const expired = Date.now();
  await b.leases.expire.get('cluster/hosts/b')?.();
  await eventually('a takes b for dead', async () => (await view()).dead.length === 1);
  const after = await view();
  assert.deepEqual(
    after.hosts.map((h) => h.host),
    ['a'],
  );
  assert.equal(after.dead[0]?.host, 'b');
  assert.equal(after.dead[0]?.vtep, '192.0.2.2');
  assert.ok((after.dead[0]?.since ?? 0) >= expired, 'since when a saw it');
  assert.equal(after.members.length, 1, "b's endpoint waits out the grace period");
});
