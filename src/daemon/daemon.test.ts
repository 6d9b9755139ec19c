// The whole daemon without a socket or a kernel: requests go in through
// fastify's inject, the data plane is the in-memory fake. The protocol edge,
// networks and endpoints; ports.test.ts has published ports, upkeep.test.ts the rest.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EP, NET, useDaemon } from '../../test/support/daemon-rig.js';
import { BODY_LIMIT } from '../protocol/server.js';

const { call, createNetwork, daemon, ok, rig, runContainer } = useDaemon({ orphanGraceMs: 0, gcIntervalMs: 30_000 });

describe('the protocol edge', () => {
  test('activation and capabilities answer empty-bodied calls', async () => {
    assert.deepEqual(await ok('Plugin.Activate'), { Implements: ['NetworkDriver', 'IpamDriver'] });
    assert.deepEqual(await ok('NetworkDriver.GetCapabilities', ''), {
      Scope: 'local',
      ConnectivityScope: 'local',
      GwAllocChecker: true,
    });
    assert.deepEqual(await ok('IpamDriver.GetCapabilities'), {
      RequiresMACAddress: false,
      RequiresRequestReplay: false,
    });
    assert.deepEqual(await ok('IpamDriver.GetDefaultAddressSpaces', 'null'), {
      LocalDefaultAddressSpace: 'local',
      GlobalDefaultAddressSpace: 'global',
    });
  });

  test('a body with a JSON Content-Type is read the same', async () => {
    const response = await daemon().app.inject({
      method: 'POST',
      url: '/IpamDriver.RequestPool',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ AddressSpace: 'local', Pool: '10.9.0.0/24' }),
    });
    assert.equal(response.json()['Pool'], '10.9.0.0/24');
  });

  test('unknown methods answer 404 in JSON', async () => {
    const response = await call('NetworkDriver.Teleport', {});
    assert.equal(response.status, 404);
    assert.match(String(response.json['Err']), /does not implement POST \/NetworkDriver\.Teleport/);
  });

  test('malformed, mistyped, hostile and oversized requests get a clear error and change nothing', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['NetworkDriver.CreateNetwork', '{"NetworkID":', /not valid JSON/],
      ['NetworkDriver.CreateNetwork', 'null', /body: /],
      ['NetworkDriver.CreateNetwork', { NetworkID: 42 }, /NetworkID: /],
      [
        'NetworkDriver.CreateNetwork',
        { NetworkID: '../../etc', Options: {} },
        /NetworkID: must be 1 to 64 letters or digits/,
      ],
      ['NetworkDriver.CreateNetwork', { NetworkID: 'ab\u0000cd' }, /NetworkID/],
      [
        'NetworkDriver.CreateNetwork',
        { NetworkID: NET, Options: {}, IPv4Data: [{ Pool: '10.0.0.1/24' }] },
        /no host bits/,
      ],
      [
        'NetworkDriver.CreateNetwork',
        { NetworkID: NET, Options: { 'com.docker.network.generic': { bridge: 'x; rm -rf /' } } },
        /not a valid interface name/,
      ],
      [
        'NetworkDriver.CreateEndpoint',
        { NetworkID: NET, EndpointID: EP, Interface: { MacAddress: 'zz' } },
        /must be a MAC address/,
      ],
      ['NetworkDriver.Join', { NetworkID: NET, EndpointID: EP, SandboxKey: '' }, /SandboxKey/],
      ['IpamDriver.RequestPool', { AddressSpace: 'local', Pool: '10.0.0.0/33' }, /not a subnet/],
      ['IpamDriver.RequestAddress', { PoolID: 'local/10.0.0.0/24', Address: '10.0.0.300' }, /not an IP address/],
      ['IpamDriver.ReleaseAddress', { PoolID: 'x'.repeat(5000), Address: '10.0.0.1' }, /PoolID/],
      ['NetworkDriver.DeleteNetwork', [1, 2, 3], /body/],
    ];
    for (const [method, body, message] of cases) {
      const response = await call(method, body);
      assert.equal(response.status, 400, `${method} ${JSON.stringify(body)}`);
      assert.match(String(response.json['Err']), message, `${method} ${JSON.stringify(body)}`);
    }
    const huge = await call('NetworkDriver.CreateNetwork', `{"NetworkID":"${'a'.repeat(BODY_LIMIT)}"}`);
    assert.equal(huge.status, 413);
    assert.match(String(huge.json['Err']), /larger than/);
    assert.deepEqual(daemon().driver.snapshot(), { networks: [], endpoints: [] });
    assert.deepEqual(daemon().pools.usage(), []);
    assert.equal(rig().links.links.size, 0);
  });
});

describe('networks and endpoints', () => {
  test('a network is a bridge with its gateway, an endpoint a veth pair on it', async () => {
    const { poolId, created } = await createNetwork('10.9.0.0/24', { mtu: '1400' });
    assert.equal(created.status, 200);
    const bridge = rig().links.links.get(`tthbr${NET.slice(0, 10)}`);
    assert.deepEqual(bridge?.addresses, ['10.9.0.1/24']);
    assert.equal(bridge?.mtu, 1400);
    assert.deepEqual(rig().firewall.networks, [
      { bridge: bridge?.name, internal: false, nat: true, subnets: ['10.9.0.0/24'], ports: [] },
    ]);

    const { address, created: endpoint, joined } = await runContainer(poolId);
    assert.equal(address, '10.9.0.2/24');
    // The request had no MAC, so the reply gives one (derived from the address) and nothing else.
    assert.deepEqual(endpoint, { Interface: { MacAddress: '02:74:0a:09:00:02' } });
    assert.deepEqual(joined, {
      InterfaceName: { SrcName: `tth${EP.slice(0, 11)}p`, DstPrefix: 'eth' },
      Gateway: '10.9.0.1',
    });
    assert.equal(rig().links.links.get(`tth${EP.slice(0, 11)}`)?.master, bridge?.name);
    assert.equal(rig().links.links.get(`tth${EP.slice(0, 11)}p`)?.mtu, 1400);

    const info = await ok('NetworkDriver.EndpointOperInfo', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual(info, {
      Value: { HostInterface: `tth${EP.slice(0, 11)}`, MacAddress: '02:74:0a:09:00:02', Address: '10.9.0.2/24' },
    });

    for (const method of ['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint'])
      await ok(method, { NetworkID: NET, EndpointID: EP });
    await ok('IpamDriver.ReleaseAddress', { PoolID: poolId, Address: '10.9.0.2' });
    assert.equal(rig().links.links.size, 1, 'only the bridge is left');
    await ok('IpamDriver.ReleaseAddress', { PoolID: poolId, Address: '10.9.0.1' });
    await ok('IpamDriver.ReleasePool', { PoolID: poolId });
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: NET });
    assert.equal(rig().links.links.size, 0);
    assert.deepEqual(rig().firewall.networks, []);
  });

  test('an internal network gives no gateway to its containers', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24', {}, { 'com.docker.network.internal': true });
    const { joined } = await runContainer(poolId);
    assert.equal(joined['Gateway'], undefined);
    assert.deepEqual(rig().firewall.networks, [
      { bridge: `tthbr${NET.slice(0, 10)}`, internal: true, nat: false, subnets: ['10.9.0.0/24'], ports: [] },
    ]);
  });

  test('an unknown -o option fails the create and leaves no trace', async () => {
    const { created } = await createNetwork('10.9.0.0/24', { colour: 'blue' });
    assert.equal(created.status, 400);
    assert.match(String(created.json['Err']), /unknown option "colour"/);
    assert.equal(rig().links.links.size, 0);
    assert.deepEqual(daemon().driver.snapshot().networks, []);
  });

  test('a bridge name taken by another interface is refused', async () => {
    await rig().links.ensureBridge({
      name: 'br-busy',
      mtu: 1500,
      alias: 'someone else',
      mac: '02:62:00:00:00:02',
      addresses: [],
    });
    const { created } = await createNetwork('10.9.0.0/24', { 'com.docker.network.bridge.name': 'br-busy' });
    assert.equal(created.status, 409);
    assert.match(String(created.json['Err']), /an interface named br-busy already exists/);
    assert.equal(rig().links.links.get('br-busy')?.alias, 'someone else');
  });

  test('CreateEndpoint with a MAC from Docker replies with nothing to set', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    const address = String(
      (await ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }))['Address'],
    );
    const reply = await ok('NetworkDriver.CreateEndpoint', {
      NetworkID: NET,
      EndpointID: EP,
      Interface: { Address: address, MacAddress: '02:00:00:00:00:99' },
      Options: {},
    });
    assert.deepEqual(reply, {});
    const again = await ok('NetworkDriver.CreateEndpoint', {
      NetworkID: NET,
      EndpointID: EP,
      Interface: { Address: address, MacAddress: '02:00:00:00:00:99' },
      Options: {},
    });
    assert.deepEqual(again, {}, 'a retried CreateEndpoint gets the same answer');
  });
});
