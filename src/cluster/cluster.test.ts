// Cluster mode beneath the kernel: several daemons on one store, each with an
// in-memory data plane, and leases that a test can let expire at will.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { parseConfig } from '../config.js';
import { type Daemon, createDaemon } from '../daemon.js';
import { FakeFirewall, FakeLinks, FakePortKeeper } from '../dataplane/fake.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Leases, Store } from '../store/store.js';

let dir: string;
let store: SqliteStore;
const hosts: Host[] = [];

/** Leases that live until the test expires them, as etcd's do until their owner stops renewing. */
class TestLeases implements Leases {
  readonly expire = new Map<string, () => Promise<void>>();
  /** Tells the owner its lease is gone, as etcd's client does once it reaches etcd again. */
  readonly lose = new Map<string, () => void>();
  constructor(private readonly store: Store) {}
  async putLeased(key: string, value: string, _ttl: number, onLost: (error: Error) => void): Promise<() => Promise<void>> {
    await this.store.commit([], [{ type: 'put', key, value }]);
    const revoke = async () => { await this.store.commit([], [{ type: 'delete', key }]); };
    this.expire.set(key, revoke);
    this.lose.set(key, () => onLost(new Error('lease expired')));
    return revoke;
  }
}

class Host {
  readonly links = new FakeLinks();
  daemon!: Daemon;
  leases!: TestLeases;

  constructor(readonly name: string, vtep: string, private readonly extra: Record<string, string> = {}) {
    this.links.underlay = { source: vtep, mtu: 1500 };
  }

  async start(shared = true): Promise<this> {
    const config = parseConfig({
      socket: `/run/${this.name}.sock`, stateDir: '/unused', logLevel: 'info', interfacePrefix: 'tth', mtu: '1500',
      orphanGrace: '60', gcInterval: '30', store: shared ? 'etcd://127.0.0.1:1' : 'sqlite', defaultPool: '10.50.0.0/16:24',
      defaultPool6: 'fd00:1::/48:64', hostName: this.name, hostTtl: '10', deadHostGrace: '0', vxlanPort: '4789',
      dockerSocket: join(dir, 'no-docker.sock'), ...this.extra,
    });
    // Every host is a view of the one store; closing a daemon must not close it for the others.
    const view = Object.create(store, { close: { value: async () => undefined } }) as Store;
    this.leases = new TestLeases(store);
    this.daemon = await createDaemon(config, {
      store: view, ...(shared ? { leases: this.leases } : {}), links: this.links, firewall: new FakeFirewall(),
      ports: new FakePortKeeper(), log: pino({ level: 'silent' }),
    });
    hosts.push(this);
    return this;
  }

  async call(method: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await this.daemon.app.inject({ method: 'POST', url: `/${method}`, payload: JSON.stringify(body) });
    const json = response.json<Record<string, unknown>>();
    if (response.statusCode !== 200) throw new Error(String(json['Err']));
    return json;
  }

  /** What Docker on this host sends for `docker network create` with tether as driver and IPAM. */
  async createNetwork(networkId: string, subnet: string, generic: Record<string, string>, addressSpace = 'local'): Promise<string> {
    const pool = await this.call('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: subnet, Options: {}, V6: false });
    const gateway = await this.call('IpamDriver.RequestAddress', {
      PoolID: pool['PoolID'], Address: subnet.replace(/0\/\d+$/, '1'), Options: { RequestAddressType: 'com.docker.network.gateway' },
    });
    await this.call('NetworkDriver.CreateNetwork', {
      NetworkID: networkId, Options: { 'com.docker.network.generic': generic },
      IPv4Data: [{ AddressSpace: addressSpace, Pool: subnet, Gateway: gateway['Address'] }], IPv6Data: [],
    });
    return String(pool['PoolID']);
  }

  /** What Docker on this host sends for `docker run` on the network. */
  async run(networkId: string, poolId: string, endpointId: string): Promise<string> {
    const address = String((await this.call('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }))['Address']);
    await this.call('NetworkDriver.CreateEndpoint', { NetworkID: networkId, EndpointID: endpointId, Interface: { Address: address } });
    await this.call('NetworkDriver.Join', { NetworkID: networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/x' });
    return address;
  }

  vxlan(): { mtu: number; master?: string } | undefined {
    return [...this.links.links.values()].find((l) => l.kind === 'vxlan');
  }

  peers(): string[] {
    return [...this.links.overlays.values()].flat().map((p) => `${p.addresses.join()}@${p.vtep}`).sort();
  }
}

async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`never happened: ${what}`);
}

const NET_A = 'a'.repeat(64);
const NET_B = 'b'.repeat(64);
const web = { 'tether.cluster': 'web' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-cluster-'));
  store = new SqliteStore(join(dir, 'db'));
});
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.daemon.close();
  await store.close();
  rmSync(dir, { recursive: true });
});

test('one network on two hosts: one VNI, one pool, one gateway on each bridge, MTU less VXLAN', async () => {
  const [a, b] = [await new Host('a', '192.0.2.1').start(), await new Host('b', '192.0.2.2').start()];
  const poolA = await a.createNetwork(NET_A, '10.60.0.0/24', web);
  const poolB = await b.createNetwork(NET_B, '10.60.0.0/24', web);
  assert.equal(poolA, poolB);
  const [vxA, vxB] = [a.vxlan(), b.vxlan()];
  assert.equal(vxA?.mtu, 1450);
  assert.ok(vxA?.master && vxB?.master);
  assert.deepEqual(a.daemon.driver.snapshot().networks[0]?.cluster?.vni, b.daemon.driver.snapshot().networks[0]?.cluster?.vni);
  assert.deepEqual(a.daemon.pools.usage().map((u) => [u.hosts, u.used]), [[2, 1]]);
});

test('each host programs the other hosts\' endpoints, and only live hosts\'', async () => {
  const [a, b, c] = [await new Host('a', '192.0.2.1').start(), await new Host('b', '192.0.2.2').start(), await new Host('c', '192.0.2.3').start()];
  const pool = await a.createNetwork(NET_A, '10.60.1.0/24', web);
  await b.createNetwork(NET_B, '10.60.1.0/24', web);
  await c.createNetwork('c'.repeat(64), '10.60.1.0/24', web);
  const fromA = await a.run(NET_A, pool, '1'.repeat(64));
  const fromB = await b.run(NET_B, pool, '2'.repeat(64));
  assert.notEqual(fromA, fromB);
  const plain = (cidr: string) => cidr.split('/')[0];
  await eventually('c knows a\'s and b\'s endpoints', () => c.peers().join() === [`${plain(fromA)}@192.0.2.1`, `${plain(fromB)}@192.0.2.2`].sort().join());
  await eventually('a knows b\'s endpoint only', () => a.peers().join() === `${plain(fromB)}@192.0.2.2`);

  // b's registration expires: its endpoint leaves the others' tunnels at once, and (grace 0) its
  // address and hold on the pool go back.
  await b.leases.expire.get('cluster/hosts/b')?.();
  await eventually('c forgot b\'s endpoint', () => c.peers().join() === `${plain(fromA)}@192.0.2.1`);
  await eventually('b\'s address is free again', () => a.daemon.pools.usage()[0]?.used === 2 && a.daemon.pools.usage()[0]?.hosts === 2);
  assert.deepEqual(await store.list('hosts/b/'), []);
});

test('a host taken for dead while only cut off claims back what is still free when it returns; what went is the new holder\'s', async () => {
  const [a, b] = [await new Host('a', '192.0.2.1').start(), await new Host('b', '192.0.2.2').start()];
  const pool = await a.createNetwork(NET_A, '10.60.7.0/24', web);
  await b.createNetwork(NET_B, '10.60.7.0/24', web);
  const kept = await b.run(NET_B, pool, '3'.repeat(64));
  const taken = await b.run(NET_B, pool, '4'.repeat(64));
  const plain = (cidr: string) => cidr.split('/')[0] ?? '';
  const bRecords = (await store.list('hosts/b/')).length;
  // A restart in between: b's holdings now come from the store, not from its own calls.
  await b.daemon.close();
  hosts.splice(hosts.indexOf(b), 1);
  await b.start();

  // b's lease expires while b runs on, cut off: a gives back everything of b's (grace 0)...
  await b.leases.expire.get('cluster/hosts/b')?.();
  await eventually('a gave back b\'s addresses and records', async () => a.daemon.pools.usage()[0]?.hosts === 1 && (await store.list('hosts/b/')).length === 0);
  // ...and hands one of b's addresses to a container of its own.
  await a.call('IpamDriver.RequestAddress', { PoolID: pool, Address: plain(taken), Options: {} });

  // b reaches etcd again: its client reports the lease lost, and b registers again.
  b.leases.lose.get('cluster/hosts/b')?.();
  await eventually('b holds the pool and its free address again', async () => a.daemon.pools.usage()[0]?.hosts === 2
    && (await store.list('hosts/b/')).length === bRecords);
  await assert.rejects(a.call('IpamDriver.RequestAddress', { PoolID: pool, Address: plain(kept), Options: {} }), /already in use/);
  await eventually('a tunnels to b\'s kept endpoint, and not to the one whose address went', () => a.peers().join() === `${plain(kept)}@192.0.2.2`);
  assert.deepEqual(a.daemon.pools.usage().map((u) => [u.hosts, u.used]), [[2, 3]], 'the gateway, b\'s kept address, a\'s new one');
  const audit = (await b.daemon.app.inject({ method: 'GET', url: '/tether/v1/audit' })).json<{ problems: string[] }>();
  assert.ok(audit.problems.some((p) => p.includes(plain(taken))), `b's audit names the address it lost: ${audit.problems.join('; ')}`);

  // Docker on b removes the conflicting container: its release must not free a's address.
  await b.call('NetworkDriver.DeleteEndpoint', { NetworkID: NET_B, EndpointID: '4'.repeat(64) });
  await b.call('IpamDriver.ReleaseAddress', { PoolID: pool, Address: plain(taken) });
  await assert.rejects(a.call('IpamDriver.RequestAddress', { PoolID: pool, Address: plain(taken), Options: {} }), /already in use/);
  assert.equal(a.daemon.pools.usage()[0]?.used, 3);
});

test('a cluster network refuses what cannot work across hosts, with a clear error', async () => {
  const a = await new Host('a', '192.0.2.1').start();
  await assert.rejects(a.createNetwork(NET_A, '10.60.2.0/24', { ...web, mtu: '1500' }), /MTU 1500 does not fit: .* at most 1450/);
  await assert.rejects(a.createNetwork(NET_A, '10.60.3.0/24', web, 'LocalDefault'), /needs tether as its IPAM driver/);
  await a.createNetwork(NET_A, '10.60.4.0/24', web);
  await assert.rejects(a.createNetwork('e'.repeat(64), '10.60.4.0/24', web), /cluster network web is already on this host, as network aaaaaaaaaaaa/);
  const b = await new Host('b', '192.0.2.2').start();
  await assert.rejects(b.createNetwork(NET_B, '10.60.5.0/24', web), /cluster network web already exists with other settings/);
  const single = await new Host('single', '192.0.2.9').start(false);
  await assert.rejects(single.createNetwork('d'.repeat(64), '10.61.0.0/24', web), /tether.cluster needs cluster mode/);
});

test('removing the network on one host removes it from the cluster; the pool stays while another host holds it', async () => {
  const [a, b] = [await new Host('a', '192.0.2.1').start(), await new Host('b', '192.0.2.2').start()];
  const pool = await a.createNetwork(NET_A, '10.60.6.0/24', web);
  await b.createNetwork(NET_B, '10.60.6.0/24', web);
  await a.call('NetworkDriver.DeleteNetwork', { NetworkID: NET_A });
  await a.call('IpamDriver.ReleaseAddress', { PoolID: pool, Address: '10.60.6.1' });
  await a.call('IpamDriver.ReleasePool', { PoolID: pool });
  assert.deepEqual(await store.list('cluster/networks/'), []);
  assert.equal(a.vxlan(), undefined);
  await assert.rejects(b.call('IpamDriver.RequestAddress', { PoolID: pool, Address: '10.60.6.1', Options: {} }), /already in use/);
});
