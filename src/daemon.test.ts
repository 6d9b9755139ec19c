// The whole daemon without a socket or a kernel: requests go in through
// fastify's inject, the data plane is the in-memory fake.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { audit } from './audit.js';
import { parseConfig } from './config.js';
import { type Daemon, createDaemon } from './daemon.js';
import { FakeFirewall, FakeLinks, FakePortKeeper } from './dataplane/fake.js';
import { formatCidr } from './net/ip.js';
import { BODY_LIMIT } from './protocol/server.js';
import { SqliteStore } from './store/sqlite.js';
import { StandInDocker } from '../test/support/stand-in-docker.js';

const NET = 'a'.repeat(64);
const EP = 'b'.repeat(64);
const config = parseConfig({
  socket: '/run/docker/plugins/unit.sock', stateDir: '/unused', logLevel: 'info', interfacePrefix: 'tth',
  mtu: '1500', orphanGrace: '0', gcInterval: '30', store: 'sqlite', defaultPool: '10.50.0.0/16:24', defaultPool6: 'fd00:1::/48:64',
  hostTtl: '10', deadHostGrace: '0', vxlanPort: '4789', dockerSocket: '/nonexistent/docker.sock',
});

let dir: string;
let links: FakeLinks;
let firewall: FakeFirewall;
let ports: FakePortKeeper;
let daemon: Daemon;

async function start(dockerSocket?: string): Promise<Daemon> {
  const store = new SqliteStore(join(dir, 'db'));
  daemon = await createDaemon(dockerSocket ? { ...config, dockerSocket } : config, { store, links, firewall, ports, log: pino({ level: 'silent' }) });
  return daemon;
}

/** Posts as Docker does: no Content-Type, the body as given. */
async function call(method: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  const response = await daemon.app.inject({ method: 'POST', url: `/${method}`, ...(payload !== undefined ? { payload } : {}) });
  return { status: response.statusCode, json: response.json() };
}

async function ok(method: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await call(method, body);
  assert.equal(response.status, 200, `${method}: ${JSON.stringify(response.json)}`);
  return response.json;
}

/** docker network create, as Docker 20.10 sequences it. */
async function createNetwork(subnet: string, generic: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  const pool = await ok('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: subnet, SubPool: '', Options: {}, V6: false });
  const gateway = await ok('IpamDriver.RequestAddress', {
    PoolID: pool['PoolID'], Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
  const created = await call('NetworkDriver.CreateNetwork', {
    NetworkID: NET,
    Options: { 'com.docker.network.generic': generic, 'com.docker.network.enable_ipv6': false, ...extra },
    IPv4Data: [{ AddressSpace: 'local', Pool: subnet, Gateway: gateway['Address'] }],
    IPv6Data: [],
  });
  return { poolId: String(pool['PoolID']), gateway: String(gateway['Address']), created };
}

async function runContainer(poolId: string, endpoint = EP) {
  const address = String((await ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }))['Address']);
  const created = await ok('NetworkDriver.CreateEndpoint', {
    NetworkID: NET, EndpointID: endpoint, Interface: { Address: address, AddressIPv6: '', MacAddress: '' }, Options: {},
  });
  const joined = await ok('NetworkDriver.Join', { NetworkID: NET, EndpointID: endpoint, SandboxKey: '/var/run/docker/netns/x', Options: {} });
  return { address, created, joined };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-daemon-'));
  links = new FakeLinks();
  firewall = new FakeFirewall();
  ports = new FakePortKeeper();
  await start();
});
afterEach(async () => {
  await daemon.close();
  rmSync(dir, { recursive: true });
});

describe('the protocol edge', () => {
  test('activation and capabilities answer empty-bodied calls', async () => {
    assert.deepEqual(await ok('Plugin.Activate'), { Implements: ['NetworkDriver', 'IpamDriver'] });
    assert.deepEqual(await ok('NetworkDriver.GetCapabilities', ''), { Scope: 'local', ConnectivityScope: 'local', GwAllocChecker: true });
    assert.deepEqual(await ok('IpamDriver.GetCapabilities'), { RequiresMACAddress: false, RequiresRequestReplay: false });
    assert.deepEqual(await ok('IpamDriver.GetDefaultAddressSpaces', 'null'),
      { LocalDefaultAddressSpace: 'local', GlobalDefaultAddressSpace: 'global' });
  });

  test('a body with a JSON Content-Type is read the same', async () => {
    const response = await daemon.app.inject({
      method: 'POST', url: '/IpamDriver.RequestPool', headers: { 'content-type': 'application/json' },
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
      ['NetworkDriver.CreateNetwork', { NetworkID: '../../etc', Options: {} }, /NetworkID: must be 1 to 64 letters or digits/],
      ['NetworkDriver.CreateNetwork', { NetworkID: 'ab\u0000cd' }, /NetworkID/],
      ['NetworkDriver.CreateNetwork', { NetworkID: NET, Options: {}, IPv4Data: [{ Pool: '10.0.0.1/24' }] }, /no host bits/],
      ['NetworkDriver.CreateNetwork', { NetworkID: NET, Options: { 'com.docker.network.generic': { bridge: 'x; rm -rf /' } } }, /not a valid interface name/],
      ['NetworkDriver.CreateEndpoint', { NetworkID: NET, EndpointID: EP, Interface: { MacAddress: 'zz' } }, /must be a MAC address/],
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
    assert.deepEqual(daemon.driver.snapshot(), { networks: [], endpoints: [] });
    assert.deepEqual(daemon.pools.usage(), []);
    assert.equal(links.links.size, 0);
  });
});

describe('networks and endpoints', () => {
  test('a network is a bridge with its gateway, an endpoint a veth pair on it', async () => {
    const { poolId, created } = await createNetwork('10.9.0.0/24', { mtu: '1400' });
    assert.equal(created.status, 200);
    const bridge = links.links.get(`tthbr${NET.slice(0, 10)}`);
    assert.deepEqual(bridge?.addresses, ['10.9.0.1/24']);
    assert.equal(bridge?.mtu, 1400);
    assert.deepEqual(firewall.networks, [{ bridge: bridge?.name, internal: false, nat: true, subnets: ['10.9.0.0/24'], ports: [] }]);

    const { address, created: endpoint, joined } = await runContainer(poolId);
    assert.equal(address, '10.9.0.2/24');
    // The request had no MAC, so the reply gives one (derived from the address) and nothing else.
    assert.deepEqual(endpoint, { Interface: { MacAddress: '02:74:0a:09:00:02' } });
    assert.deepEqual(joined, { InterfaceName: { SrcName: `tth${EP.slice(0, 11)}p`, DstPrefix: 'eth' }, Gateway: '10.9.0.1' });
    assert.equal(links.links.get(`tth${EP.slice(0, 11)}`)?.master, bridge?.name);
    assert.equal(links.links.get(`tth${EP.slice(0, 11)}p`)?.mtu, 1400);

    const info = await ok('NetworkDriver.EndpointOperInfo', { NetworkID: NET, EndpointID: EP });
    assert.deepEqual(info, { Value: { HostInterface: `tth${EP.slice(0, 11)}`, MacAddress: '02:74:0a:09:00:02', Address: '10.9.0.2/24' } });

    for (const method of ['NetworkDriver.Leave', 'NetworkDriver.DeleteEndpoint']) await ok(method, { NetworkID: NET, EndpointID: EP });
    await ok('IpamDriver.ReleaseAddress', { PoolID: poolId, Address: '10.9.0.2' });
    assert.equal(links.links.size, 1, 'only the bridge is left');
    await ok('IpamDriver.ReleaseAddress', { PoolID: poolId, Address: '10.9.0.1' });
    await ok('IpamDriver.ReleasePool', { PoolID: poolId });
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: NET });
    assert.equal(links.links.size, 0);
    assert.deepEqual(firewall.networks, []);
  });

  test('an internal network gives no gateway to its containers', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24', {}, { 'com.docker.network.internal': true });
    const { joined } = await runContainer(poolId);
    assert.equal(joined['Gateway'], undefined);
    assert.deepEqual(firewall.networks, [{ bridge: `tthbr${NET.slice(0, 10)}`, internal: true, nat: false, subnets: ['10.9.0.0/24'], ports: [] }]);
  });

  test('an unknown -o option fails the create and leaves no trace', async () => {
    const { created } = await createNetwork('10.9.0.0/24', { colour: 'blue' });
    assert.equal(created.status, 400);
    assert.match(String(created.json['Err']), /unknown option "colour"/);
    assert.equal(links.links.size, 0);
    assert.deepEqual(daemon.driver.snapshot().networks, []);
  });

  test('a bridge name taken by another interface is refused', async () => {
    await links.ensureBridge({ name: 'br-busy', mtu: 1500, alias: 'someone else', addresses: [] });
    const { created } = await createNetwork('10.9.0.0/24', { 'com.docker.network.bridge.name': 'br-busy' });
    assert.equal(created.status, 409);
    assert.match(String(created.json['Err']), /an interface named br-busy already exists/);
    assert.equal(links.links.get('br-busy')?.alias, 'someone else');
  });

  test('CreateEndpoint with a MAC from Docker replies with nothing to set', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    const address = String((await ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }))['Address']);
    const reply = await ok('NetworkDriver.CreateEndpoint', {
      NetworkID: NET, EndpointID: EP, Interface: { Address: address, MacAddress: '02:00:00:00:00:99' }, Options: {},
    });
    assert.deepEqual(reply, {});
    const again = await ok('NetworkDriver.CreateEndpoint', {
      NetworkID: NET, EndpointID: EP, Interface: { Address: address, MacAddress: '02:00:00:00:00:99' }, Options: {},
    });
    assert.deepEqual(again, {}, 'a retried CreateEndpoint gets the same answer');
  });
});

describe('published ports', () => {
  const portmap = (bindings: object[]) => ({ NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.portmap': bindings } });

  test('-p holds the host port and programs it; a taken port is a clear error and holds nothing; revoke frees', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    await runContainer(poolId);
    await ok('NetworkDriver.ProgramExternalConnectivity', portmap([
      { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
      { Proto: 17, IP: null, Port: 53, HostIP: '127.0.0.1', HostPort: 5353, HostPortEnd: 5353 },
      { Proto: 6, IP: '', Port: 443, HostIP: '', HostPort: 0, HostPortEnd: 0 },
    ]));
    assert.deepEqual(firewall.networks[0]?.ports, [
      { proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '10.9.0.2', containerPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.9.0.2', containerPort: 53 },
      { proto: 'tcp', hostIp: '', hostPort: 49153, containerIp: '10.9.0.2', containerPort: 443 },
    ]);
    assert.equal(ports.held.size, 3);

    const other = 'f'.repeat(64);
    await runContainer(poolId, other);
    const clash = await call('NetworkDriver.ProgramExternalConnectivity', { ...portmap([
      { Proto: 6, Port: 81, HostIP: '', HostPort: 9090, HostPortEnd: 9090 },
      { Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
    ]), EndpointID: other });
    assert.equal(clash.status, 409);
    assert.match(String(clash.json['Err']), /host port 8080\/tcp is not available/);
    assert.equal(ports.held.size, 3, 'the 9090 taken before the clash is given back');

    const range = await ok('NetworkDriver.ProgramExternalConnectivity', { ...portmap([
      { Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8082 },
    ]), EndpointID: other });
    assert.deepEqual(range, {});
    assert.equal(daemon.driver.snapshot().endpoints.find((e) => e.id === other)?.ports[0]?.hostPort, 8081);

    await ok('NetworkDriver.RevokeExternalConnectivity', { NetworkID: NET, EndpointID: EP });
    assert.equal(ports.held.size, 1);
    assert.deepEqual(firewall.networks[0]?.ports.map((p) => p.hostPort), [8081]);
    const sctp = await call('NetworkDriver.ProgramExternalConnectivity', portmap([{ Proto: 132, Port: 9, HostIP: '', HostPort: 9 }]));
    assert.match(String(sctp.json['Err']), /TCP and UDP ports, not protocol 132/);
  });

  test('ports come back after a restart, and tether.nat=false is kept', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24', { 'tether.nat': 'false' });
    await runContainer(poolId);
    links.moveToContainer(`tth${EP.slice(0, 11)}p`);
    await ok('NetworkDriver.ProgramExternalConnectivity', portmap([{ Proto: 6, Port: 80, HostIP: '', HostPort: 8080 }]));
    await daemon.close();
    ports = new FakePortKeeper();
    await start();
    assert.equal(ports.held.size, 1, 'held again at start');
    assert.equal(firewall.networks[0]?.nat, false);
    assert.equal(firewall.networks[0]?.ports.length, 1);
  });
});

describe('the audit', () => {
  test('is clean after normal work and names each kind of drift', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    await runContainer(poolId);
    links.moveToContainer(`tth${EP.slice(0, 11)}p`);
    assert.deepEqual((await audit(daemon.driver, daemon.pools)).problems, []);

    links.links.delete(`tthbr${NET.slice(0, 10)}`);
    await links.ensureBridge({ name: 'tth0abc', mtu: 1500, alias: '', addresses: [] });
    await links.createVeth({ hostName: 'tth0abc1', peerName: 'tth0abc1p', bridge: 'tth0abc', mtu: 1500, mac: '02:00:00:00:00:01' });
    await ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} });
    await firewall.sync([]);
    const problems = (await audit(daemon.driver, daemon.pools)).problems;
    assert.deepEqual(problems.map((p) => p.replace(/[0-9a-f]{12}/g, 'ID')), [
      'bridge tthbraaaaaaaaaa of network ID is missing, down or lacks its gateway',
      'interface tth0abc1 belongs to no network or endpoint',
      'firewall rules are not those of the networks',
      'address 10.9.0.3 is allocated in pool local/10.9.0.0/24 but nothing uses it',
    ]);
  });
});

describe('reconcile at start', () => {
  test('a missing bridge comes back, links nobody owns go, forgotten endpoints are freed', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    const kept = await runContainer(poolId, 'c'.repeat(64));
    links.moveToContainer(`tth${'c'.repeat(11)}p`);
    const forgotten = await runContainer(poolId, 'd'.repeat(64));
    // docker stop while tether was down: Docker moved the peer back to the host and forgot the endpoint.
    await daemon.close();
    links.links.delete(`tthbr${NET.slice(0, 10)}`);
    await links.ensureBridge({ name: 'x', mtu: 1500, alias: '', addresses: [] });
    await links.createVeth({ hostName: 'tth0123456', peerName: 'tth0123456p', bridge: 'x', mtu: 1500, mac: '02:00:00:00:00:01' });
    await start();

    assert.deepEqual(links.links.get(`tthbr${NET.slice(0, 10)}`)?.addresses, ['10.9.0.1/24'], 'bridge recreated');
    assert.ok(!links.links.has('tth0123456') && !links.links.has('tth0123456p'), 'orphan veth removed');
    assert.ok(links.links.has('x'), 'a link tether does not own is left alone');
    assert.deepEqual(daemon.driver.snapshot().endpoints.map((e) => e.address && formatCidr(e.address)), [kept.address]);
    assert.ok(!links.links.has(`tth${'d'.repeat(11)}`));
    const usage = daemon.pools.usage()[0];
    assert.equal(usage?.used, 2, 'gateway and the live container; the forgotten address is free');
    const reused = await ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: forgotten.address.split('/')[0], Options: {} });
    assert.equal(reused['Address'], forgotten.address);
    await ok('NetworkDriver.CreateEndpoint', {
      NetworkID: NET, EndpointID: 'e'.repeat(64), Interface: { Address: reused['Address'] }, Options: {},
    });
    await ok('NetworkDriver.Join', { NetworkID: NET, EndpointID: 'e'.repeat(64), SandboxKey: '/var/run/docker/netns/y', Options: {} });
    links.moveToContainer(`tth${'e'.repeat(11)}p`);
    assert.deepEqual((await audit(daemon.driver, daemon.pools)).problems, []);
  });
});

describe('collection rounds', () => {
  // orphanGrace is 0 here: every joined endpoint whose peer is still on the host looks gone at once,
  // as a container start slower than the grace does.
  test('an endpoint Docker still holds is left alone, whatever the timing says; once Docker lets go it is freed', async () => {
    const docker = await StandInDocker.start();
    try {
      await daemon.close();
      await start(docker.socket);
      const { poolId } = await createNetwork('10.9.0.0/24');
      const { address } = await runContainer(poolId);
      docker.answer = () => ({ status: 200, body: { Id: NET, Containers: { [`ep-${EP}`]: { EndpointID: EP, IPv4Address: address, IPv6Address: '' } } } });
      assert.equal(await daemon.driver.freeGoneEndpoints(), 0);
      assert.deepEqual(docker.seen.map((r) => r.url), [`/networks/${NET}`]);
      assert.ok(links.links.has(`tth${EP.slice(0, 11)}p`), 'the peer stays for Docker to move');

      docker.answer = () => ({ status: 500, body: { message: 'busy' } });
      await assert.rejects(daemon.driver.freeGoneEndpoints(), /500/);
      assert.equal(daemon.driver.snapshot().endpoints.length, 1, 'a Docker that cannot answer frees nothing');

      docker.answer = () => ({ status: 200, body: { Id: NET, Containers: {} } });
      assert.equal(await daemon.driver.freeGoneEndpoints(), 1);
      assert.equal(daemon.pools.usage()[0]?.used, 1, 'only the gateway is left');
    } finally {
      await docker.close();
    }
  });

  test('with no Docker to ask, the timing decides', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    await runContainer(poolId);
    assert.equal(await daemon.driver.freeGoneEndpoints(), 1);
  });
});
