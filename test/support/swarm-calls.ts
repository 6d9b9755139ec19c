// What Docker's swarm sends a global-scope tether, as Docker 20.10 sent it in a
// three-node swarm: the manager's allocation of a network, and a node's replay
// of the manager's choices for its first task.
import assert from 'node:assert/strict';
import type { Host } from './cluster-hosts.js';

/** Swarm's network IDs: 25 letters and digits, the same on every node. */
export const SWARM_NET = 'm8a851a0n0166y5m5jvfo126b';
export const GATEWAY = { RequestAddressType: 'com.docker.network.gateway', 'com.docker.network.ipam.serial': 'true' };
export const SERIAL = { 'com.docker.network.ipam.serial': 'true' };

/** What the manager sends at `docker network create --scope swarm` with an IPv4 and an IPv6 subnet. */
export async function managerCreates(manager: Host): Promise<{ v4: string; v6: string }> {
  const v4 = await manager.call('IpamDriver.RequestPool', {
    AddressSpace: 'global',
    Pool: '10.70.0.0/24',
    SubPool: '10.70.0.128/25',
    Options: {},
    V6: false,
  });
  await manager.call('IpamDriver.RequestAddress', { PoolID: v4['PoolID'], Address: '10.70.0.1', Options: GATEWAY });
  const v6 = await manager.call('IpamDriver.RequestPool', {
    AddressSpace: 'global',
    Pool: 'fd70::/64',
    Options: GATEWAY,
    V6: false,
  });
  await manager.call('IpamDriver.RequestAddress', { PoolID: v6['PoolID'], Address: '', Options: GATEWAY });
  const allocated = await manager.call('NetworkDriver.AllocateNetwork', {
    NetworkID: SWARM_NET,
    Options: { 'com.docker.network.driver.mtu': '1400' },
    IPv4Data: [{ Pool: '10.70.0.0/24', Gateway: '10.70.0.1/24' }],
  });
  assert.deepEqual(allocated, { Options: { 'com.docker.network.driver.mtu': '1400' } }, 'options go back to nodes');
  return { v4: String(v4['PoolID']), v6: String(v6['PoolID']) };
}

/** What a node sends for its first task on the network: replays of the manager's choices, in its local space. */
export async function nodeReplays(node: Host, taskAddress: string): Promise<string> {
  const pool = await node.call('IpamDriver.RequestPool', {
    AddressSpace: 'local',
    Pool: '10.70.0.0/24',
    SubPool: '10.70.0.128/25',
    Options: {},
    V6: false,
  });
  const gateway = { RequestAddressType: 'com.docker.network.gateway' };
  await node.call('IpamDriver.RequestAddress', { PoolID: pool['PoolID'], Address: '10.70.0.1', Options: gateway });
  await node.call('NetworkDriver.CreateNetwork', {
    NetworkID: SWARM_NET,
    Options: { 'com.docker.network.generic': { 'com.docker.network.driver.mtu': '1400' } },
    IPv4Data: [{ AddressSpace: 'local', Pool: '10.70.0.0/24', Gateway: '10.70.0.1/24' }],
  });
  const replayed = await node.call('IpamDriver.RequestAddress', {
    PoolID: pool['PoolID'],
    Address: taskAddress,
    Options: {},
  });
  assert.equal(replayed['Address'], `${taskAddress}/24`);
  return String(pool['PoolID']);
}

export const swarmUse = (host: Host) =>
  Object.fromEntries(
    host.daemon.pools
      .usage()
      .filter((u) => u.id.startsWith('global/'))
      .map((u) => [u.pool, u.used]),
  );
