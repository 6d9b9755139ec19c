// Swarm mode's refusals, each a clear error, and the addresses a swarm pool
// reserves for `--ipam-opt tether.aux-addresses` (swarm drops --aux-address).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Host, useSharedStore } from '../../test/support/cluster-hosts.js';
import { managerCreates, SERIAL, SWARM_NET, swarmUse } from '../../test/support/swarm-calls.js';

const shared = useSharedStore();
const swarmHost = (name: string, vtep: string) => new Host(shared(), name, vtep, { scope: 'global' }).start();

test('clear errors for a node without the allocation, for tether.cluster, and for overlapping pools', async () => {
  const node = await swarmHost('n', '192.0.2.2');
  await assert.rejects(
    node.call('NetworkDriver.CreateNetwork', {
      NetworkID: SWARM_NET,
      Options: {},
      IPv4Data: [{ AddressSpace: 'local', Pool: '10.71.0.0/24', Gateway: '10.71.0.1/24' }],
    }),
    /is not in the cluster store.*same --store/,
  );
  await assert.rejects(
    node.call('NetworkDriver.AllocateNetwork', { NetworkID: SWARM_NET, Options: { 'tether.cluster': 'web' } }),
    /spans the swarm already/,
  );
  const localScope = await new Host(shared(), 'l', '192.0.2.5').start();
  await assert.rejects(
    localScope.call('NetworkDriver.AllocateNetwork', { NetworkID: SWARM_NET, Options: {} }),
    /swarm networks need tether with --scope global/,
  );
  await managerCreates(node);
  const overlapping = { AddressSpace: 'local', Pool: '10.70.0.0/16', Options: {}, V6: false };
  await assert.rejects(node.call('IpamDriver.RequestPool', overlapping), /overlaps subnet 10.70.0.0\/24/);
  const otherRange = { AddressSpace: 'local', Pool: '10.70.0.0/24', Options: {}, V6: false };
  await assert.rejects(node.call('IpamDriver.RequestPool', otherRange), /with ip-range 10.70.0.128\/25/);
});

test('--ipam-opt tether.aux-addresses keeps addresses out of a swarm pool (swarm drops --aux-address)', async () => {
  const manager = await swarmHost('m', '192.0.2.1');
  const request = {
    AddressSpace: 'global',
    Pool: '10.72.0.0/29',
    Options: { 'tether.aux-addresses': '10.72.0.2, 10.72.0.3' },
    V6: false,
  };
  const pool = await manager.call('IpamDriver.RequestPool', request);
  const given = [];
  for (let i = 0; i < 4; i++) {
    // Swarm's manager sends the network's IPAM options with each address it asks for.
    const options = { ...SERIAL, ...request.Options };
    given.push(
      (await manager.call('IpamDriver.RequestAddress', { PoolID: pool['PoolID'], Options: options }))['Address'],
    );
  }
  assert.deepEqual(given.sort(), ['10.72.0.1/29', '10.72.0.4/29', '10.72.0.5/29', '10.72.0.6/29']);
  await assert.rejects(
    manager.call('IpamDriver.RequestPool', {
      ...request,
      Pool: '10.73.0.0/24',
      Options: { 'tether.aux-addresses': 'x' },
    }),
    /"x" is not an IP address/,
  );
  // Swarm gives each pool of a network the network's IPAM options: another subnet's addresses are skipped.
  const v6 = await manager.call('IpamDriver.RequestPool', { ...request, Pool: 'fd72::/64' });
  await manager.call('IpamDriver.RequestAddress', { PoolID: v6['PoolID'], Options: SERIAL });
  assert.equal(swarmUse(manager)['fd72::/64'], 1);
  await assert.rejects(
    manager.call('IpamDriver.RequestPool', {
      ...request,
      Pool: '10.73.0.0/24',
      Options: { 'tether.aux-addresses': '10.73.0.0' },
    }),
    /not a usable address/,
  );
  // The pool of a refused request is not left behind.
  await manager.call('IpamDriver.RequestPool', { ...request, Pool: '10.73.0.0/24', Options: {} });
  const local = new Host(shared(), 'l', '192.0.2.5');
  await local.start();
  await assert.rejects(
    local.call('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: '10.74.0.0/24', Options: request.Options }),
    /is for swarm networks; use --aux-address/,
  );
});
