// Cluster mode beneath the kernel: several daemons on one store, each with an
// in-memory data plane, and leases that a test can let expire at will.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, Host, useSharedStore } from '../../test/support/cluster-hosts.js';
import { SqliteStore } from '../store/sqlite.js';

const shared = useSharedStore();
const host = (name: string, vtep: string, extra: Record<string, string> = {}) => new Host(shared(), name, vtep, extra);
const NET_A = 'a'.repeat(64);
const NET_B = 'b'.repeat(64);
const web = { 'tether.cluster': 'web' };

test('one network on two hosts: one VNI, one pool, one gateway on each bridge, MTU less VXLAN', async () => {
  const [a, b] = [await host('a', '192.0.2.1').start(), await host('b', '192.0.2.2').start()];
  const poolA = await a.createNetwork(NET_A, '10.60.0.0/24', web);
  const poolB = await b.createNetwork(NET_B, '10.60.0.0/24', web);
  assert.equal(poolA, poolB);
  const [vxA, vxB] = [a.vxlan(), b.vxlan()];
  assert.equal(vxA?.mtu, 1450);
  assert.ok(vxA?.master && vxB?.master);
  const [kindA, kindB] = [a, b].map((host) => host.daemon.driver.snapshot().networks[0]?.kind);
  assert.equal(kindA?.type, 'cluster');
  assert.deepEqual(kindA?.type === 'cluster' && kindA.vni, kindB?.type === 'cluster' && kindB.vni);
  assert.deepEqual(
    a.daemon.pools.usage().map((u) => [u.hosts, u.used]),
    [[2, 1]],
  );
});

test("each host programs the other hosts' endpoints, and only live hosts'", async () => {
  const [a, b, c] = [
    await host('a', '192.0.2.1').start(),
    await host('b', '192.0.2.2').start(),
    await host('c', '192.0.2.3').start(),
  ];
  const pool = await a.createNetwork(NET_A, '10.60.1.0/24', web);
  await b.createNetwork(NET_B, '10.60.1.0/24', web);
  await c.createNetwork('c'.repeat(64), '10.60.1.0/24', web);
  const fromA = await a.run(NET_A, pool, '1'.repeat(64));
  const fromB = await b.run(NET_B, pool, '2'.repeat(64));
  assert.notEqual(fromA, fromB);
  const plain = (cidr: string) => cidr.split('/')[0];
  await eventually(
    "c knows a's and b's endpoints",
    () => c.peers().join() === [`${plain(fromA)}@192.0.2.1`, `${plain(fromB)}@192.0.2.2`].sort().join(),
  );
  await eventually("a knows b's endpoint only", () => a.peers().join() === `${plain(fromB)}@192.0.2.2`);

  // b's registration expires: its endpoint leaves the others' tunnels at once, and (grace 0) its
  // address and hold on the pool go back.
  await b.leases.expire.get('cluster/hosts/b')?.();
  await eventually("c forgot b's endpoint", () => c.peers().join() === `${plain(fromA)}@192.0.2.1`);
  await eventually(
    "b's address is free again",
    () => a.daemon.pools.usage()[0]?.used === 2 && a.daemon.pools.usage()[0]?.hosts === 2,
  );
  assert.deepEqual(await shared().store.list('hosts/b/'), []);
});

test(
  'a host taken for dead while only cut off claims back what is still free when it returns; what went is ' +
    "the new holder's",
  async () => {
    const [a, b] = [await host('a', '192.0.2.1').start(), await host('b', '192.0.2.2').start()];
    const pool = await a.createNetwork(NET_A, '10.60.7.0/24', web);
    await b.createNetwork(NET_B, '10.60.7.0/24', web);
    const kept = await b.run(NET_B, pool, '3'.repeat(64));
    const taken = await b.run(NET_B, pool, '4'.repeat(64));
    const plain = (cidr: string) => cidr.split('/')[0] ?? '';
    const bRecords = (await shared().store.list('hosts/b/')).length;
    // A restart in between: b's holdings now come from the store, not from its own calls.
    await b.daemon.close();
    shared().hosts.splice(shared().hosts.indexOf(b), 1);
    await b.start();

    // b's lease expires while b runs on, cut off: a gives back everything of b's (grace 0)...
    await b.leases.expire.get('cluster/hosts/b')?.();
    await eventually(
      "a gave back b's addresses and records",
      async () => a.daemon.pools.usage()[0]?.hosts === 1 && (await shared().store.list('hosts/b/')).length === 0,
    );
    // ...and hands one of b's addresses to a container of its own.
    await a.call('IpamDriver.RequestAddress', { PoolID: pool, Address: plain(taken), Options: {} });

    // b reaches etcd again: its client reports the lease lost, and b registers again.
    b.leases.lose.get('cluster/hosts/b')?.();
    await eventually(
      'b holds the pool and its free address again',
      async () => a.daemon.pools.usage()[0]?.hosts === 2 && (await shared().store.list('hosts/b/')).length === bRecords,
    );
    await assert.rejects(
      a.call('IpamDriver.RequestAddress', { PoolID: pool, Address: plain(kept), Options: {} }),
      /already in use/,
    );
    await eventually(
      "a tunnels to b's kept endpoint, and not to the one whose address went",
      () => a.peers().join() === `${plain(kept)}@192.0.2.2`,
    );
    assert.deepEqual(
      a.daemon.pools.usage().map((u) => [u.hosts, u.used]),
      [[2, 3]],
      "the gateway, b's kept address, a's new one",
    );
    const audit = (await b.daemon.app.inject({ method: 'GET', url: '/tether/v1/audit' })).json<{
      problems: string[];
    }>();
    assert.ok(
      audit.problems.some((p) => p.includes(plain(taken))),
      `b's audit names the address it lost: ${audit.problems.join('; ')}`,
    );

    // Docker on b removes the conflicting container: its release must not free a's address.
    await b.call('NetworkDriver.DeleteEndpoint', { NetworkID: NET_B, EndpointID: '4'.repeat(64) });
    await b.call('IpamDriver.ReleaseAddress', { PoolID: pool, Address: plain(taken) });
    await assert.rejects(
      a.call('IpamDriver.RequestAddress', { PoolID: pool, Address: plain(taken), Options: {} }),
      /already in use/,
    );
    assert.equal(a.daemon.pools.usage()[0]?.used, 3);
  },
);

test('a cluster network refuses what cannot work across hosts, with a clear error', async () => {
  const a = await host('a', '192.0.2.1').start();
  await assert.rejects(
    a.createNetwork(NET_A, '10.60.2.0/24', { ...web, mtu: '1500' }),
    /MTU 1500 does not fit: .* at most 1450/,
  );
  await assert.rejects(a.createNetwork(NET_A, '10.60.3.0/24', web, 'LocalDefault'), /needs tether as its IPAM driver/);
  await a.createNetwork(NET_A, '10.60.4.0/24', web);
  await assert.rejects(
    a.createNetwork('e'.repeat(64), '10.60.4.0/24', web),
    /cluster network web is already on this host, as network aaaaaaaaaaaa/,
  );
  const b = await host('b', '192.0.2.2').start();
  await assert.rejects(
    b.createNetwork(NET_B, '10.60.5.0/24', web),
    /cluster network web already exists with other settings/,
  );
  const single = await host('single', '192.0.2.9').start(false);
  await assert.rejects(single.createNetwork('d'.repeat(64), '10.61.0.0/24', web), /tether.cluster needs cluster mode/);
});

test('removing the network on one host removes it from the cluster; the pool stays while others hold it', async () => {
  const [a, b] = [await host('a', '192.0.2.1').start(), await host('b', '192.0.2.2').start()];
  const pool = await a.createNetwork(NET_A, '10.60.6.0/24', web);
  await b.createNetwork(NET_B, '10.60.6.0/24', web);
  await a.call('NetworkDriver.DeleteNetwork', { NetworkID: NET_A });
  await a.call('IpamDriver.ReleaseAddress', { PoolID: pool, Address: '10.60.6.1' });
  await a.call('IpamDriver.ReleasePool', { PoolID: pool });
  assert.deepEqual(await shared().store.list('cluster/networks/'), []);
  assert.equal(a.vxlan(), undefined);
  await assert.rejects(
    b.call('IpamDriver.RequestAddress', { PoolID: pool, Address: '10.60.6.1', Options: {} }),
    /already in use/,
  );
});

test("a container's start costs the cluster store one transaction: its address and its member record", async () => {
  const a = await host('a', '192.0.2.1').start();
  const pool = await a.createNetwork(NET_A, '10.60.9.0/24', web);
  // The first container claims the host a block of the pool: one write per 64 addresses.
  await a.run(NET_A, pool, '3'.repeat(64));
  const store = shared().store;
  const commits: string[][] = [];
  const commit = store.commit.bind(store);
  store.commit = (guards, operations) => {
    commits.push(operations.map((o) => (o.type === 'deletePrefix' ? o.prefix : o.key)));
    return commit(guards, operations);
  };
  const address = (await a.call('IpamDriver.RequestAddress', { PoolID: pool, Address: '', Options: {} }))['Address'];
  const ref = { NetworkID: NET_A, EndpointID: '4'.repeat(64) };
  await a.call('NetworkDriver.CreateEndpoint', { ...ref, Interface: { Address: address } });
  await a.call('NetworkDriver.Join', { ...ref, SandboxKey: '/var/run/docker/netns/y' });
  assert.deepEqual(
    commits.map((keys) => keys.map((key) => key.split('/').slice(0, 2).join('/'))),
    [['cluster/members', 'ipam/addresses']],
  );
  assert.equal(a.daemon.driver.snapshot().endpoints.length, 2, "the endpoint's record is in the host's own store");
});

test("a tether with a live host's name is refused, naming the holder; the host itself takes it back", async () => {
  const a = await host('a', '192.0.2.1').start();
  const clone = new Host(shared(), 'a', '192.0.2.9', {}, 'clone');
  await assert.rejects(clone.start(), /host name a is held by another tether \(tunnel address 192\.0\.2\.1/);
  assert.equal(shared().hosts.length, 1, 'the clone did not start');
  // a crashes: its registration outlives it until the lease runs out. Its restart takes it back at once.
  const { store } = shared();
  const registration = (await store.get('cluster/hosts/a'))?.value ?? assert.fail('a is not registered');
  await a.daemon.close();
  await store.commit([], [{ type: 'put', key: 'cluster/hosts/a', value: registration }]);
  await a.start();
  assert.equal(
    JSON.parse((await store.get('cluster/hosts/a'))?.value ?? '{}').identity,
    JSON.parse(registration).identity,
  );
  // A registration under a name that is not a record holds the name for no one.
  await store.commit([], [{ type: 'put', key: 'cluster/hosts/b', value: '{not json' }]);
  await host('b', '192.0.2.2').start();
  assert.equal(JSON.parse((await store.get('cluster/hosts/b'))?.value ?? '{}').host, 'b');
});

test("a host's driver records left in the cluster store by an earlier version move to its own store", async () => {
  const a = await host('a', '192.0.2.1').start();
  const pool = await a.createNetwork(NET_A, '10.60.10.0/24', web);
  await a.run(NET_A, pool, '5'.repeat(64));
  await a.daemon.close();
  // As the earlier version kept them: in the cluster store, under the host's scope.
  const own = new SqliteStore(join(shared().dir, 'a.db'));
  const records = await own.list('driver/');
  await own.commit([], [{ type: 'deletePrefix', prefix: 'driver/' }]);
  await own.close();
  const { store } = shared();
  await store.commit(
    [],
    records.map((e) => ({ type: 'put', key: `hosts/a/${e.key}`, value: e.value })),
  );
  await a.start();
  const { networks, endpoints } = a.daemon.driver.snapshot();
  assert.deepEqual([networks.length, endpoints.length], [1, 1]);
  assert.deepEqual(await store.list('hosts/a/driver/'), []);
});
