// Request bodies as each Docker version sends them, replayed through the whole
// daemon. Docker 20.10's are as recorded from Debian 12's engine; 27, 28 and
// 29's are from moby's source (libnetwork/drivers/remote and ipams/remote).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EP, NET, useDaemon } from '../../test/support/daemon-rig.js';

const { rig, call, ok } = useDaemon();
const bridge = `tthbr${NET.slice(0, 10)}`;
const portmap = [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }];
const exposed = [{ Proto: 6, Port: 80 }];
const GATEWAY = 'com.docker.network.gateway';
/** RequestAddress for a network's gateway, as every version sends it. */
const requestGateway = (PoolID: unknown) =>
  ok('IpamDriver.RequestAddress', { PoolID, Address: '', Options: { RequestAddressType: GATEWAY } });

describe('Docker 20.10', () => {
  test('docker network create, run -p, stop and network rm, body for body', async () => {
    assert.deepEqual(await ok('NetworkDriver.GetCapabilities', 'null\n'), {
      Scope: 'local',
      ConnectivityScope: 'local',
      GwAllocChecker: true,
    });
    await ok('IpamDriver.GetDefaultAddressSpaces', 'null\n');
    const pool = await ok('IpamDriver.RequestPool', {
      AddressSpace: 'local',
      Pool: '10.9.0.0/24',
      SubPool: '',
      Options: {},
      V6: false,
    });
    const PoolID = pool['PoolID'];
    await requestGateway(PoolID);
    await ok('NetworkDriver.CreateNetwork', {
      NetworkID: NET,
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'local', Gateway: '10.9.0.1/24', Pool: '10.9.0.0/24' }],
      IPv6Data: [],
    });
    assert.deepEqual(await ok('IpamDriver.RequestAddress', { PoolID, Address: '', Options: null }), {
      Address: '10.9.0.2/24',
      Data: {},
    });
    const endpoint = { NetworkID: NET, EndpointID: EP };
    const options = { 'com.docker.network.endpoint.exposedports': exposed, 'com.docker.network.portmap': portmap };
    await ok('NetworkDriver.CreateEndpoint', {
      ...endpoint,
      Interface: { Address: '10.9.0.2/24', AddressIPv6: '', MacAddress: '' },
      Options: options,
    });
    await ok('NetworkDriver.Join', { ...endpoint, SandboxKey: '/var/run/docker/netns/0123456789ab', Options: options });
    await ok('NetworkDriver.ProgramExternalConnectivity', { ...endpoint, Options: options });
    assert.deepEqual(await ok('NetworkDriver.EndpointOperInfo', endpoint), {
      Value: { HostInterface: `tth${EP.slice(0, 11)}`, MacAddress: '02:74:0a:09:00:02', Address: '10.9.0.2/24' },
    });
    assert.equal(rig().ports.held.size, 1);
    await ok('NetworkDriver.RevokeExternalConnectivity', endpoint);
    await ok('NetworkDriver.Leave', endpoint);
    await ok('NetworkDriver.DeleteEndpoint', endpoint);
    await ok('IpamDriver.ReleaseAddress', { PoolID, Address: '10.9.0.2' });
    await ok('IpamDriver.ReleaseAddress', { PoolID, Address: '10.9.0.1' });
    await ok('IpamDriver.ReleasePool', { PoolID });
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: NET });
    assert.equal(rig().links.links.size, 0);
    assert.equal(rig().ports.held.size, 0);
  });

  test('-o com.docker.network.enable_ipv4=false is refused clearly: this Docker allocated IPv4 anyway', async () => {
    const created = await call('NetworkDriver.CreateNetwork', {
      NetworkID: NET,
      Options: {
        'com.docker.network.enable_ipv6': false,
        'com.docker.network.generic': { 'com.docker.network.enable_ipv4': 'false' },
      },
      IPv4Data: [{ AddressSpace: 'local', Gateway: '10.9.0.1/24', Pool: '10.9.0.0/24' }],
      IPv6Data: [],
    });
    assert.equal(created.status, 400);
    assert.match(String(created.json['Err']), /IPv6-only networks .* need Docker 28 or newer/);
  });
});

describe('Docker 27 to 29', () => {
  test('an IPv6-only network (28, --ipv4=false): empty IPv4Data, no IPv4 address, sysctls and ifname', async () => {
    const generic = { 'com.docker.network.enable_ipv4': 'false', 'com.docker.network.enable_ipv6': 'true' };
    const networkOptions = {
      'com.docker.network.enable_ipv4': false,
      'com.docker.network.enable_ipv6': true,
      'com.docker.network.generic': generic,
    };
    assert.deepEqual(await ok('NetworkDriver.GwAllocCheck', { Options: networkOptions }), {
      SkipIPv4: false,
      SkipIPv6: false,
    });
    const pool = await ok('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: 'fd00:9::/64', V6: true });
    const PoolID = pool['PoolID'];
    await requestGateway(PoolID);
    await ok('NetworkDriver.CreateNetwork', {
      NetworkID: NET,
      Options: networkOptions,
      IPv4Data: [],
      IPv6Data: [{ AddressSpace: 'local', Gateway: 'fd00:9::1/64', Pool: 'fd00:9::/64' }],
    });
    assert.deepEqual(rig().links.links.get(bridge)?.addresses, ['fd00:9::1/64']);
    // Docker 29 names the endpoint in RequestAddress.
    const address = await ok('IpamDriver.RequestAddress', {
      PoolID,
      Address: '',
      Options: { 'com.docker.network.endpoint.name': 'web' },
    });
    assert.equal(address['Address'], 'fd00:9::2/64');
    const endpoint = { NetworkID: NET, EndpointID: EP };
    await ok('NetworkDriver.CreateEndpoint', {
      ...endpoint,
      Interface: { Address: '', AddressIPv6: 'fd00:9::2/64', MacAddress: '' },
      Options: {
        'com.docker.network.endpoint.sysctls': 'net.ipv6.conf.IFNAME.accept_ra=0',
        'com.docker.network.endpoint.ifname': 'web0',
      },
    });
    const joined = await ok('NetworkDriver.Join', { ...endpoint, SandboxKey: '/var/run/docker/netns/x', Options: {} });
    assert.deepEqual(joined, {
      InterfaceName: { SrcName: `tth${EP.slice(0, 11)}p`, DstPrefix: 'eth' },
      GatewayIPv6: 'fd00:9::1',
    });
    await ok('NetworkDriver.ProgramExternalConnectivity', {
      ...endpoint,
      Options: { 'com.docker.network.portmap': portmap, 'com.docker.network.driver.private.no_proxy_6to4': true },
    });
    assert.deepEqual(
      rig().firewall.networks[0]?.ports.map((p) => p.containerIp),
      ['fd00:9::2'],
      'only the IPv6 address is published',
    );
  });

  test('-o enable_ipv6 left in the options (27+, default-network-opts) is accepted beside IPv6 data', async () => {
    const created = await call('NetworkDriver.CreateNetwork', {
      NetworkID: NET,
      Options: {
        'com.docker.network.enable_ipv4': true,
        'com.docker.network.enable_ipv6': true,
        'com.docker.network.generic': { 'com.docker.network.enable_ipv6': 'true' },
      },
      IPv4Data: [{ AddressSpace: 'local', Gateway: '10.9.0.1/24', Pool: '10.9.0.0/24' }],
      IPv6Data: [{ AddressSpace: 'local', Gateway: 'fd00:9::1/64', Pool: 'fd00:9::/64' }],
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
  });
});

test('external connectivity for an endpoint tether does not hold is an error Docker shows, not a 404', async () => {
  const answer = await call('NetworkDriver.ProgramExternalConnectivity', {
    NetworkID: NET,
    EndpointID: EP,
    Options: { 'com.docker.network.portmap': portmap },
  });
  assert.notEqual(answer.status, 404, 'Docker reads a 404 here as "not implemented", i.e. success');
  assert.equal(answer.status, 410);
  assert.match(String(answer.json['Err']), /does not exist|is not a tether network/);
});
