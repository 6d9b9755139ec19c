// Swarm mode beneath the kernel: the manager's and the nodes' tether on one
// store, fed the request bodies Docker 20.10 sent in a three-node swarm (and
// moby's current cnmallocator sends the same: V6 never set on RequestPool,
// the gateway's RequestAddressType left in later pools' options).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, Host, useSharedStore } from '../../test/support/cluster-hosts.js';
import { GATEWAY, managerCreates, nodeReplays, SERIAL, SWARM_NET, swarmUse } from '../../test/support/swarm-calls.js';
import { AUDIT_PATH, auditReport, CLUSTER_PATH, clusterView } from '../operator/contract.js';

const shared = useSharedStore();
const swarmHost = (name: string, vtep: string) => new Host(shared(), name, vtep, { scope: 'global' }).start();
const problems = async (host: Host) =>
  auditReport.parse((await host.daemon.app.inject({ method: 'GET', url: AUDIT_PATH })).json()).problems;

test('global scope: GetCapabilities says so, and needs the cluster store', async () => {
  const manager = await swarmHost('m', '192.0.2.1');
  const capabilities = await manager.call('NetworkDriver.GetCapabilities', null);
  assert.equal(capabilities['Scope'], 'global');
  assert.equal(capabilities['ConnectivityScope'], 'global');
  await assert.rejects(
    new Host(shared(), 'solo', '192.0.2.9', { scope: 'global' }).start(false),
    /--scope global \(swarm networks\) needs the cluster store/,
  );
});

test('the manager allocates; a node replays its choices, holding nothing twice; the data plane follows', async () => {
  const [manager, node] = [await swarmHost('m', '192.0.2.1'), await swarmHost('n', '192.0.2.2')];
  const { v4 } = await managerCreates(manager);
  const task = await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '', Options: SERIAL });
  const address = String(task['Address']).split('/')[0] ?? '';
  assert.match(address, /^10\.70\.0\.(1[3-9]\d|2[0-5]\d|12[89])$/, 'from the ip-range');
  const before = swarmUse(manager);
  assert.deepEqual(before, { '10.70.0.0/24': 2, 'fd70::/64': 1 });

  const local = await nodeReplays(node, address);
  assert.equal(local, 'local/10.70.0.0/24');
  await node.call('NetworkDriver.CreateEndpoint', {
    NetworkID: SWARM_NET,
    EndpointID: '1'.repeat(64),
    Interface: { Address: `${address}/24` },
    Options: { 'tether.label.tier': 'db' },
  });
  assert.deepEqual(swarmUse(manager), before, 'the replay took nothing more');
  assert.deepEqual(
    node.daemon.pools.usage().filter((u) => !u.id.startsWith('global/')),
    [],
    'no pool of its own',
  );
  const network = node.daemon.driver.snapshot().networks[0];
  assert.equal(network?.kind.type, 'swarm');
  assert.equal(network?.kind.type === 'swarm' && network.kind.name, SWARM_NET);
  assert.equal(network?.mtu, 1400);
  assert.deepEqual(node.daemon.driver.snapshot().endpoints[0]?.labels, { tier: 'db' });
  assert.deepEqual(await problems(node), [], "the node's audit checks its task against swarm's pool");
  // The manager's node builds its part too; each sees the other's endpoint on its VXLAN device.
  await nodeReplays(manager, '10.70.0.200');
  await manager.call('NetworkDriver.CreateEndpoint', {
    NetworkID: SWARM_NET,
    EndpointID: '2'.repeat(64),
    Interface: { Address: '10.70.0.200/24' },
  });
  await eventually('each node tunnels to the other', () => manager.peers().length === 1 && node.peers().length === 1);
  assert.deepEqual(node.peers(), ['10.70.0.200@192.0.2.1']);
  const view = clusterView.parse((await node.daemon.app.inject({ method: 'GET', url: CLUSTER_PATH })).json());
  assert.deepEqual(view.enabled && view.networks, [
    { name: SWARM_NET, vni: 1, subnets: ['10.70.0.0/24'], endpoints: { n: 1, m: 1 }, swarm: true },
  ]);
  await shared().store.commit([], [{ type: 'delete', key: `ipam/addresses/global%2F10.70.0.0%2F24/${address}` }]);
  assert.deepEqual(await problems(node), [
    `address ${address} of endpoint 111111111111 is not allocated in pool global/10.70.0.0/24`,
  ]);
});

test("a new life of the manager's plugin replays its pools and addresses; within one life they conflict", async () => {
  const manager = await swarmHost('m', '192.0.2.1');
  const { v4, v6 } = await managerCreates(manager);
  const task = await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '', Options: SERIAL });
  const again = { AddressSpace: 'global', Pool: '10.70.0.0/24', SubPool: '10.70.0.128/25', Options: {}, V6: false };
  await assert.rejects(manager.call('IpamDriver.RequestPool', again), /already used by a swarm network/);
  const address = String(task['Address']).split('/')[0];
  const replay = { PoolID: v4, Address: address, Options: SERIAL };
  await assert.rejects(manager.call('IpamDriver.RequestAddress', replay), /already in use/);

  await manager.daemon.close();
  shared().hosts.splice(shared().hosts.indexOf(manager), 1);
  const restarted = await swarmHost('m', '192.0.2.1');
  assert.equal((await restarted.call('IpamDriver.RequestPool', again))['PoolID'], v4);
  await restarted.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '10.70.0.1', Options: GATEWAY });
  assert.equal((await restarted.call('IpamDriver.RequestAddress', replay))['Address'], task['Address']);
  await restarted.call('NetworkDriver.AllocateNetwork', { NetworkID: SWARM_NET, Options: {}, IPv4Data: [] });
  // Swarm tries a replayed address on each pool of the network, and gives up at the first error.
  const v6Task = await restarted.call('IpamDriver.RequestAddress', { PoolID: v6, Address: '', Options: SERIAL });
  await restarted.daemon.close();
  shared().hosts.splice(shared().hosts.indexOf(restarted), 1);
  const third = await swarmHost('m', '192.0.2.1');
  const crossed = { PoolID: v4, Address: String(v6Task['Address']).split('/')[0], Options: SERIAL };
  assert.equal((await third.call('IpamDriver.RequestAddress', crossed))['Address'], v6Task['Address']);
  assert.deepEqual(swarmUse(third), { '10.70.0.0/24': 2, 'fd70::/64': 2 });
});

test("a node's release marks the address, freed after the grace unless the manager releases it first", async () => {
  const [manager, node] = [await swarmHost('m', '192.0.2.1'), await swarmHost('n', '192.0.2.2')];
  const { v4 } = await managerCreates(manager);
  const [first, second] = [
    await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '', Options: SERIAL }),
    await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '', Options: SERIAL }),
  ].map((r) => String(r['Address']).split('/')[0] ?? '');
  const local = await nodeReplays(node, first ?? '');
  await node.call('IpamDriver.ReleaseAddress', { PoolID: local, Address: first });
  await node.call('IpamDriver.ReleaseAddress', { PoolID: local, Address: '10.70.0.1' });
  await node.call('IpamDriver.ReleasePool', { PoolID: local });
  assert.equal(swarmUse(manager)['10.70.0.0/24'], 3, 'held until the grace ends');
  assert.equal(await manager.daemon.ipam.collectSwarm(60_000), 0, 'not yet');
  assert.equal(await manager.daemon.ipam.collectSwarm(0), 1, 'the task address, not the gateway');
  await manager.call('IpamDriver.ReleaseAddress', { PoolID: v4, Address: second });
  await eventually('the node follows', () => swarmUse(node)['10.70.0.0/24'] === 1);
  // Swarm frees the network: pools, addresses and VNI go.
  await manager.call('NetworkDriver.FreeNetwork', { NetworkID: SWARM_NET });
  await manager.call('IpamDriver.ReleaseAddress', { PoolID: v4, Address: '10.70.0.1' });
  await manager.call('IpamDriver.ReleasePool', { PoolID: v4 });
  assert.equal(swarmUse(manager)['10.70.0.0/24'], undefined);
  assert.deepEqual(await shared().store.list('cluster/swarm-networks/'), []);
  assert.deepEqual(await shared().store.list('cluster/vnis/'), []);
});

test("a node's late release, after swarm gave the address to another task, leaves the new task's alone", async () => {
  const [manager, node] = [await swarmHost('m', '192.0.2.1'), await swarmHost('n', '192.0.2.2')];
  const { v4 } = await managerCreates(manager);
  const task = await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '', Options: SERIAL });
  const address = String(task['Address']).split('/')[0] ?? '';
  const local = await nodeReplays(node, address);
  await manager.call('IpamDriver.ReleaseAddress', { PoolID: v4, Address: address });
  await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: address, Options: SERIAL });
  await node.call('IpamDriver.ReleaseAddress', { PoolID: local, Address: address });
  assert.equal(await manager.daemon.ipam.collectSwarm(0), 0, "the new task's address is not marked");
  assert.equal(swarmUse(manager)['10.70.0.0/24'], 2, 'the gateway and the new task');
  const held = await shared().store.get(`ipam/addresses/global%2F10.70.0.0%2F24/${address}`);
  assert.equal(held && JSON.parse(held.value).released, undefined);
});

test("a dead node's task addresses come back after the grace; the other nodes' stay", async () => {
  const [manager, node] = [await swarmHost('m', '192.0.2.1'), await swarmHost('n', '192.0.2.2')];
  const { v4 } = await managerCreates(manager);
  const task = await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '', Options: SERIAL });
  const address = String(task['Address']).split('/')[0] ?? '';
  await nodeReplays(node, address);
  await node.call('NetworkDriver.CreateEndpoint', {
    NetworkID: SWARM_NET,
    EndpointID: '1'.repeat(64),
    Interface: { Address: `${address}/24` },
  });
  const other = await manager.call('IpamDriver.RequestAddress', { PoolID: v4, Address: '', Options: SERIAL });
  assert.equal(swarmUse(manager)['10.70.0.0/24'], 3);
  await node.leases.expire.get('cluster/hosts/n')?.();
  await eventually("the dead node's task address is free", () => swarmUse(manager)['10.70.0.0/24'] === 2);
  const kept = await shared().store.list('ipam/addresses/global%2F10.70.0.0%2F24/');
  assert.deepEqual(kept.map((e) => e.key.split('/').pop()).sort(), [
    '10.70.0.1',
    String(other['Address']).split('/')[0],
  ]);
});
