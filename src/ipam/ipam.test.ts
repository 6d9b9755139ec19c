import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { TetherError } from '../errors.js';
import { formatPrefix, type IpPrefix, parseIp, parsePrefix } from '../net/ip.js';
import type { PoolRequest } from '../protocol/ipam.js';
import type { PoolId } from '../protocol/pool-id.js';
import { SqliteStore } from '../store/sqlite.js';
import { sharedIpam, soloIpam } from './index.js';
import { ipamConfig } from './testing.js';

const prefix = (text: string) => parsePrefix(text) ?? assert.fail(text);
const ip = (text: string) => parseIp(text) ?? assert.fail(text);
let dir: string;
let store: SqliteStore;
let routes: IpPrefix[];

/** One host's IPAM with its report (and, shared, its tenancy's forgetHost), as the daemon builds them. */
async function open(host = 'one', shared = false) {
  const config = ipamConfig(host, () => routes);
  const built = shared ? await sharedIpam(store, config) : { ...(await soloIpam(store, config)), shared: undefined };
  return Object.assign(built.ipam, {
    usage: () => built.report.usage(),
    allocations: () => built.report.allocations(),
    forgetHost: (dead: string) => built.shared?.forgetHost(dead, []) ?? assert.fail('not shared'),
  });
}
type TestIpam = Awaited<ReturnType<typeof open>>;
const pool = (fields: Partial<PoolRequest> = {}): PoolRequest => ({
  addressSpace: 'local',
  options: {},
  v6: false,
  ...fields,
});
const code = (c: string) => (error: unknown) => error instanceof TetherError && error.code === c;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-ipam-'));
  store = new SqliteStore(join(dir, 'db'));
  routes = [];
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true });
});

test('the same pool twice is one pool with two references', async () => {
  const ipam = await open();
  const a = await ipam.requestPool(pool({ pool: prefix('10.1.0.0/24') }));
  const b = await ipam.requestPool(pool({ pool: prefix('10.1.0.0/24') }));
  assert.deepEqual(a, b);
  assert.equal(ipam.usage()[0]?.refs, 2);
  await ipam.releasePool(a);
  await ipam.requestAddress({ poolId: a, options: {} });
  await ipam.releasePool(a);
  assert.deepEqual(ipam.usage(), []);
  await assert.rejects(ipam.requestAddress({ poolId: a, options: {} }), code('NOT_FOUND'));
});

test('overlapping subnets are refused in one address space, allowed across spaces', async () => {
  const ipam = await open();
  await ipam.requestPool(pool({ pool: prefix('10.1.0.0/16') }));
  await assert.rejects(ipam.requestPool(pool({ pool: prefix('10.1.2.0/24') })), /overlaps subnet 10\.1\.0\.0\/16/);
  await assert.rejects(
    ipam.requestPool(pool({ pool: prefix('10.1.0.0/16'), subPool: prefix('10.1.1.0/24') })),
    code('POOL_OVERLAP'),
  );
  await ipam.requestPool(pool({ addressSpace: 'global', pool: prefix('10.1.2.0/24') }));
});

test('bad pool requests are clear errors', async () => {
  const ipam = await open();
  await assert.rejects(ipam.requestPool(pool({ addressSpace: 'elsewhere' })), /unknown address space "elsewhere"/);
  await assert.rejects(ipam.requestPool(pool({ options: { colour: 'blue' } })), /unknown IPAM option "colour"/);
  await assert.rejects(
    ipam.requestPool(pool({ pool: prefix('10.1.0.0/24'), subPool: prefix('10.2.0.0/25') })),
    /not inside subnet/,
  );
  await assert.rejects(ipam.requestPool(pool({ pool: prefix('fd00::/64') })), /not an IPv4 subnet/);
  assert.deepEqual(ipam.usage(), [], 'nothing was created');
});

test('automatic pools skip tether pools and host routes, and run out clearly', async () => {
  routes = [prefix('10.50.1.0/24')];
  const ipam = await open();
  await ipam.requestPool(pool({ pool: prefix('10.50.0.0/24') }));
  assert.equal(formatPrefix((await ipam.requestPool(pool())).prefix), '10.50.2.0/24');
  assert.equal(formatPrefix((await ipam.requestPool(pool())).prefix), '10.50.3.0/24');
  await assert.rejects(ipam.requestPool(pool()), code('POOL_EXHAUSTED'));
  assert.equal(formatPrefix((await ipam.requestPool(pool({ v6: true }))).prefix), 'fd00:1::/64');
  assert.equal(formatPrefix((await ipam.requestPool(pool({ v6: true }))).prefix), 'fd00:1:0:1::/64');
});

test('addresses: gateway first, static, duplicates, out of range, exhaustion, CIDR replies', async () => {
  const ipam = await open();
  const poolId = await ipam.requestPool(pool({ pool: prefix('10.1.0.0/29') }));
  const gateway = { RequestAddressType: 'com.docker.network.gateway' };
  assert.equal(await ipam.requestAddress({ poolId, options: gateway }), '10.1.0.1/29');
  assert.equal(await ipam.requestAddress({ poolId, address: ip('10.1.0.5'), options: {} }), '10.1.0.5/29');
  await assert.rejects(
    ipam.requestAddress({ poolId, address: ip('10.1.0.5'), options: {} }),
    /10\.1\.0\.5 is already in use/,
  );
  await assert.rejects(ipam.requestAddress({ poolId, address: ip('10.1.0.7'), options: {} }), code('OUT_OF_RANGE'));
  await assert.rejects(ipam.requestAddress({ poolId, address: ip('10.1.1.1'), options: {} }), code('OUT_OF_RANGE'));
  await assert.rejects(
    ipam.requestAddress({ poolId, options: { RequestAddressType: 'other' } }),
    code('INVALID_OPTION'),
  );
  const rest = [];
  for (let i = 0; i < 4; i++) rest.push(await ipam.requestAddress({ poolId, options: {} }));
  assert.deepEqual(rest, ['10.1.0.2/29', '10.1.0.3/29', '10.1.0.4/29', '10.1.0.6/29']);
  await assert.rejects(ipam.requestAddress({ poolId, options: {} }), /no address left in subnet 10\.1\.0\.0\/29/);
  await ipam.releaseAddress(poolId, ip('10.1.0.3'));
  await ipam.releaseAddress(poolId, ip('10.1.0.3'));
  assert.equal(await ipam.requestAddress({ poolId, options: {} }), '10.1.0.3/29');
});

test('concurrent requests never share an address', async () => {
  const ipam = await open();
  const poolId = await ipam.requestPool(pool({ pool: prefix('10.1.0.0/24') }));
  const all = await Promise.all(Array.from({ length: 254 }, () => ipam.requestAddress({ poolId, options: {} })));
  assert.equal(new Set(all).size, 254);
});

test('state survives a restart: no address is handed out twice', async () => {
  const first = await open();
  const poolId = await first.requestPool(pool({ pool: prefix('10.1.0.0/29') }));
  const taken = [
    await first.requestAddress({ poolId, options: {} }),
    await first.requestAddress({ poolId, options: {} }),
  ];
  const again = await open();
  assert.equal(again.usage()[0]?.used, 2);
  const next = await again.requestAddress({ poolId, options: {} });
  assert.ok(!taken.includes(next));
  await assert.rejects(again.requestAddress({ poolId, address: ip('10.1.0.1'), options: {} }), code('ADDRESS_IN_USE'));
});

test('a container address Docker never released is freed by address, gateways never', async () => {
  const ipam = await open();
  const poolId = await ipam.requestPool(pool({ pool: prefix('10.1.0.0/24') }));
  await ipam.requestAddress({ poolId, options: { RequestAddressType: 'com.docker.network.gateway' } });
  await ipam.requestAddress({ poolId, address: ip('10.1.0.9'), options: {} });
  assert.equal(await ipam.releaseContainerAddress(ip('10.1.0.1')), false);
  assert.equal(await ipam.releaseContainerAddress(ip('10.1.0.9')), true);
  assert.equal(await ipam.releaseContainerAddress(ip('10.1.0.9')), false);
  assert.equal(ipam.usage()[0]?.used, 1);
});

// Several hosts on one store: each Ipam below is a host, and the store's watch keeps them in step.
const gatewayOf = (poolId: PoolId, address: string) => ({
  poolId,
  address: ip(address),
  options: { RequestAddressType: 'com.docker.network.gateway' },
});

test('hosts share a pool and its gateway; the pool goes when the last host releases it', async () => {
  const [a, b] = [await open('a', true), await open('b', true)];
  const poolId = await a.requestPool(pool({ pool: prefix('10.9.0.0/24') }));
  assert.deepEqual(await b.requestPool(pool({ pool: prefix('10.9.0.0/24') })), poolId);
  assert.equal(await a.requestAddress(gatewayOf(poolId, '10.9.0.1')), '10.9.0.1/24');
  assert.equal(await b.requestAddress(gatewayOf(poolId, '10.9.0.1')), '10.9.0.1/24');
  await assert.rejects(b.requestAddress({ poolId, address: ip('10.9.0.1'), options: {} }), code('ADDRESS_IN_USE'));
  await a.releaseAddress(poolId, ip('10.9.0.1'));
  await a.releasePool(poolId);
  assert.equal(b.usage()[0]?.hosts, 1);
  await assert.rejects(
    b.requestAddress({ poolId, address: ip('10.9.0.1'), options: {} }),
    code('ADDRESS_IN_USE'),
    'b still has the gateway',
  );
  await b.releaseAddress(poolId, ip('10.9.0.1'));
  await b.releasePool(poolId);
  assert.deepEqual(a.usage(), []);
  assert.deepEqual(await store.list('ipam/'), []);
});

test('hosts allocating at once never get the same address, and one host frees for another', async () => {
  const hosts = [await open('a', true), await open('b', true), await open('c', true)];
  const poolId = await hosts[0]!.requestPool(pool({ pool: prefix('10.9.1.0/26') }));
  for (const host of hosts.slice(1)) await host.requestPool(pool({ pool: prefix('10.9.1.0/26') }));
  const addresses = await Promise.all(
    Array.from({ length: 62 }, (_, i) => hosts[i % 3]!.requestAddress({ poolId, options: {} })),
  );
  assert.equal(new Set(addresses).size, 62, 'a /26 holds 62 addresses');
  await assert.rejects(hosts[1]!.requestAddress({ poolId, options: {} }), code('POOL_EXHAUSTED'));
  await hosts[0]!.releaseAddress(poolId, ip(addresses[0]!.split('/')[0]!));
  assert.equal(await hosts[2]!.requestAddress({ poolId, options: {} }), addresses[0]);
});

test("forgetting a dead host frees its addresses and its hold on pools, and nobody else's", async () => {
  const [a, b] = [await open('a', true), await open('b', true)];
  const poolId = await a.requestPool(pool({ pool: prefix('10.9.2.0/24') }));
  await b.requestPool(pool({ pool: prefix('10.9.2.0/24') }));
  await a.requestAddress(gatewayOf(poolId, '10.9.2.1'));
  await b.requestAddress(gatewayOf(poolId, '10.9.2.1'));
  const mine = await a.requestAddress({ poolId, options: {} });
  const theirs = await b.requestAddress({ poolId, options: {} });
  const ownShare = async (host: TestIpam) => [...((await host.allocations()).pools[0]?.addresses.keys() ?? [])].sort();
  assert.deepEqual(
    await ownShare(a),
    ['10.9.2.1', mine.split('/')[0]].sort(),
    'a accounts for its own addresses and the gateway',
  );
  assert.deepEqual(await ownShare(b), ['10.9.2.1', theirs.split('/')[0]].sort());
  assert.equal(await a.forgetHost('b'), 1);
  assert.deepEqual(
    a.usage().map((u) => [u.hosts, u.used]),
    [[1, 2]],
  );
  const { addresses } = (await a.allocations()).pools[0]!;
  assert.deepEqual([...addresses.keys()].sort(), ['10.9.2.1', mine.split('/')[0]].sort());
  assert.ok(!addresses.has(theirs.split('/')[0]!));
});

test('a host that opens later sees the pools and addresses the others hold', async () => {
  const a = await open('a', true);
  const poolId = await a.requestPool(pool({ pool: prefix('10.9.3.0/29') }));
  const taken = await Promise.all(Array.from({ length: 5 }, () => a.requestAddress({ poolId, options: {} })));
  const late = await open('late', true);
  await late.requestPool(pool({ pool: prefix('10.9.3.0/29') }));
  const last = await late.requestAddress({ poolId, options: {} });
  assert.ok(!taken.includes(last));
  await assert.rejects(late.requestAddress({ poolId, options: {} }), code('POOL_EXHAUSTED'));
});
