// Networks on a host interface, through the whole daemon on the in-memory
// kernel: macvlan and bridged uplinks, VLAN sub-interfaces, the host shim,
// the checks that keep the host's own interfaces safe, and the repair.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EP, useDaemon } from '../../../../test/support/daemon-rig.js';
import { audit } from '../../../audit.js';
import { bridgeOf, kindOf } from '../kind-of.js';
import { parseUplinks } from './allowed.js';

const { createNetwork, daemon, ok, rig, runContainer } = useDaemon({
  uplinks: parseUplinks('eth1,data=eth2,mgmt=eth0:shared,eth3'),
});
const LAN = '192.168.50.0/24';
const problems = async () => (await audit(daemon().driver, daemon().pools)).problems;
const nic = (name: string) => rig().links.links.get(name);
const errorOf = async (generic: Record<string, string>) => {
  const { created } = await createNetwork(LAN, generic);
  assert.notEqual(created.status, 200, JSON.stringify(created.json));
  return String(created.json['Err']);
};

describe('a macvlan network', () => {
  test('puts each endpoint on the parent with its own MAC, and the LAN router is the gateway', async () => {
    rig().links.addNic('eth1');
    const before = { ...nic('eth1') };
    const { poolId, created } = await createNetwork(LAN, { 'tether.parent': 'eth1' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const { address, joined } = await runContainer(poolId);
    assert.equal(joined['Gateway'], '192.168.50.1');
    const endpoint = daemon().driver.snapshot().endpoints[0];
    const macvlan = endpoint && nic(endpoint.peerName);
    assert.deepEqual([macvlan?.kind, macvlan?.parent, macvlan?.mac], ['macvlan', 'eth1', endpoint?.mac]);
    assert.ok(address.startsWith('192.168.50.'));
    assert.equal(rig().firewall.networks.length, 0, 'no bridge, no rules: nothing passes the host');
    assert.deepEqual(await problems(), []);
    await ok('NetworkDriver.DeleteEndpoint', { NetworkID: endpoint?.networkId, EndpointID: EP });
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: endpoint?.networkId });
    assert.deepEqual([...rig().links.links.keys()], ['eth1']);
    assert.deepEqual(nic('eth1'), before, 'the uplink is untouched');
  });

  test('refuses an interface not allowed, missing, down, or the host default route', async () => {
    rig().links.addNic('eth0', ['198.51.100.7/24']);
    rig().links.addNic('eth3');
    rig().links.defaultRoutes = ['eth3'];
    assert.match(await errorOf({ 'tether.parent': 'eth9' }), /not one of this host's uplinks.*allows eth1, data/);
    assert.match(await errorOf({ 'tether.parent': 'eth1' }), /interface eth1 does not exist/);
    assert.match(await errorOf({ 'tether.parent': 'data' }), /interface eth2 \(uplink data\) does not exist/);
    assert.match(await errorOf({ 'tether.parent': 'eth3' }), /carries the host's default route.*eth3:shared/);
    rig().links.addNic('eth1');
    const down = nic('eth1');
    if (down) down.up = false;
    assert.match(await errorOf({ 'tether.parent': 'eth1' }), /eth1 is down/);
    rig().links.defaultRoutes = ['eth0'];
    const { created } = await createNetwork(LAN, { 'tether.parent': 'mgmt' });
    assert.equal(created.status, 200, 'an interface listed as shared is the operator saying so');
    const network = daemon().driver.snapshot().networks[0];
    assert.equal(network && kindOf(network).uplink?.parent, 'eth0');
  });

  test('a host shim gives the host an address of the network, which the audit counts as used', async () => {
    rig().links.addNic('eth1');
    const { created } = await createNetwork(LAN, { 'tether.parent': 'eth1', 'tether.host-shim': 'true' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const network = daemon().driver.snapshot().networks[0];
    const shim = nic(`tthsh${network?.id.slice(0, 10)}`);
    assert.deepEqual(
      [shim?.kind, shim?.parent, shim?.up, shim?.addresses],
      ['macvlan', 'eth1', true, ['192.168.50.2/24']],
    );
    assert.deepEqual(await problems(), []);
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: network?.id });
    assert.deepEqual([...rig().links.links.keys()], ['eth1']);
    const usage = daemon().pools.usage()[0];
    assert.equal(usage?.used, 1, 'only the gateway is left; the shim address went back');
  });
});

describe('a bridged uplink', () => {
  test('enslaves the interface to the bridge, holds no gateway, and lets it go on removal', async () => {
    rig().links.addNic('eth1');
    const { poolId, created } = await createNetwork(LAN, { 'tether.uplink': 'eth1' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const network = daemon().driver.snapshot().networks[0];
    const bridge = network && bridgeOf(network);
    assert.equal(nic('eth1')?.master, bridge);
    assert.deepEqual(nic(bridge ?? '')?.addresses, [], "the LAN's router has the gateway address");
    await runContainer(poolId);
    assert.equal(rig().firewall.networks[0]?.nat, false);
    assert.deepEqual(await problems(), []);
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: network?.id });
    assert.deepEqual(nic('eth1'), { name: 'eth1', kind: '', up: true, mtu: 1500, addresses: [] });
  });

  test('refuses an interface with the host addresses on it, or on another bridge', async () => {
    rig().links.addNic('eth1', ['203.0.113.4/24']);
    assert.match(await errorOf({ 'tether.uplink': 'eth1' }), /has addresses of the host's/);
    rig().links.addNic('eth1');
    const taken = nic('eth1');
    if (taken) taken.master = 'br0';
    assert.match(await errorOf({ 'tether.uplink': 'eth1' }), /already on br0/);
  });

  test('comes back after a restart that found the bridge gone', async () => {
    rig().links.addNic('eth1');
    await createNetwork(LAN, { 'tether.uplink': 'eth1' });
    const network = daemon().driver.snapshot().networks[0];
    const bridge = network && bridgeOf(network);
    await rig().links.deleteLink(bridge ?? '');
    assert.equal(nic('eth1')?.master, undefined);
    assert.match((await problems()).join('\n'), /uplink eth1 is not on it/);
    await rig().stop();
    await rig().start();
    assert.equal(nic('eth1')?.master, bridge);
    assert.deepEqual(await problems(), []);
  });
});

describe('VLAN tags', () => {
  test('a tagged network makes the sub-interface and removes it; one the operator made stays', async () => {
    rig().links.addNic('eth1');
    const { created } = await createNetwork(LAN, { 'tether.parent': 'eth1', 'tether.vlan': '10' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const network = daemon().driver.snapshot().networks[0];
    assert.deepEqual([nic('eth1.10')?.kind, nic('eth1.10')?.vlan], ['vlan', 10]);
    await rig().links.deleteLink('eth1.10');
    await rig().stop();
    await rig().start();
    assert.equal(nic('eth1.10')?.vlan, 10, 'the repair at start made it again');
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: network?.id });
    assert.equal(nic('eth1.10'), undefined);
    await rig().links.ensureVlan({ name: 'eth1.20', parent: 'eth1', id: 20, alias: 'the operator' });
    const again = await createNetwork('192.168.60.0/24', { 'tether.uplink': 'eth1', 'tether.vlan': '20' });
    assert.equal(again.created.status, 200, JSON.stringify(again.created.json));
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: network?.id });
    assert.equal(nic('eth1.20')?.alias, 'the operator');
  });

  test('a kernel without 802.1q is a clear error, and nothing is left, not even the shim address', async () => {
    rig().links.addNic('eth1');
    rig().links.vlans = false;
    const tagged = { 'tether.parent': 'eth1', 'tether.vlan': '10', 'tether.host-shim': 'true' };
    assert.match(await errorOf(tagged), /no 802\.1q VLAN support/);
    assert.deepEqual(daemon().driver.snapshot().networks, []);
    assert.deepEqual([...rig().links.links.keys()], ['eth1']);
    assert.equal(daemon().pools.usage()[0]?.used, 1, 'the gateway only (docker releases it)');
  });
});

test('two networks cannot share one interface', async () => {
  rig().links.addNic('eth1');
  await createNetwork(LAN, { 'tether.parent': 'eth1' });
  const second = await rig().client.createNetwork('c'.repeat(64), '192.168.70.0/24', { 'tether.uplink': 'eth1' });
  assert.match(String(second.created.json['Err']), /interface eth1 is already used by network aaaaaaaaaaaa/);
});

test('ports are not published on a host interface: the containers have addresses of their own', async () => {
  rig().links.addNic('eth1');
  const { poolId } = await createNetwork(LAN, { 'tether.parent': 'eth1' });
  await runContainer(poolId);
  const answer = await rig().client.call('NetworkDriver.ProgramExternalConnectivity', {
    NetworkID: daemon().driver.snapshot().networks[0]?.id,
    EndpointID: EP,
    Options: { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 8080 }] },
  });
  assert.match(String(answer.json['Err']), /ports are not published .* on host interface eth1/);
  assert.deepEqual([...rig().ports.held], []);
});
