// The IPAM of hosts sharing a store, where the store's answers are not simple:
// a write that landed though the call failed, and a cluster network's aux
// addresses asked for again by every host that follows its creator.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TetherError } from '../errors.js';
import { parseIp, parsePrefix } from '../net/ip.js';
import type { PoolRequest } from '../protocol/ipam.js';
import { formatPoolId } from '../protocol/pool-id.js';
import { FaultyStore } from '../store/faulty.js';
import { SqliteStore } from '../store/sqlite.js';
import { sharedIpam } from './index.js';
import { ipamConfig } from './testing.js';

let dir: string;
let store: FaultyStore;
const ip = (text: string) => parseIp(text) ?? assert.fail(text);
const subnet = (text: string) => parsePrefix(text) ?? assert.fail(text);
const pool = (text: string, options: Record<string, string> = {}): PoolRequest => ({
  addressSpace: 'local',
  pool: subnet(text),
  options,
  v6: false,
});
const code = (c: string) => (error: unknown) => error instanceof TetherError && error.code === c;
const open = async (host: string) => {
  const built = await sharedIpam(store, ipamConfig(host));
  return Object.assign(built.ipam, { allocations: () => built.report.allocations() });
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-ipam-'));
  store = new FaultyStore(new SqliteStore(join(dir, 'db')));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true });
});

test('an address whose write landed though the call failed is handed out; memory agrees with the store', async () => {
  const a = await open('a');
  const poolId = await a.requestPool(pool('10.9.4.0/29'));
  store.failAfterNextWrite();
  const address = await a.requestAddress({ poolId, options: {} });
  const { problems, pools } = await a.allocations();
  assert.deepEqual(problems, []);
  assert.ok(pools[0]?.addresses.has(address.split('/')[0]!));
  store.failWrite(1);
  await assert.rejects(a.requestAddress({ poolId, options: {} }), code('STORE'));
  assert.deepEqual((await a.allocations()).problems, [], 'a write that never landed is freed again');
});

test("a cluster network's aux address: the hosts following its creator are given it, and cannot free it", async () => {
  const [a, b] = [await open('a'), await open('b')];
  const poolId = await a.requestPool(pool('10.9.5.0/24'));
  await a.requestAddress({ poolId, options: {}, address: ip('10.9.5.10') });
  await b.requestPool(pool('10.9.5.0/24'));
  await assert.rejects(b.requestAddress({ poolId, options: {}, address: ip('10.9.5.10') }), code('ADDRESS_IN_USE'));
  const pass = b.clusterAux.issue([subnet('10.9.5.0/24')], [ip('10.9.5.10'), ip('10.1.1.1')]);
  await b.requestPool(pool('10.9.5.0/24', pass));
  assert.equal(await b.requestAddress({ poolId, options: {}, address: ip('10.9.5.10') }), '10.9.5.10/24');
  await b.releaseAddress(poolId, ip('10.9.5.10'));
  const keys = (await store.list('ipam/')).map((e) => e.key);
  assert.ok(
    keys.some((key) => key.endsWith('/10.9.5.10')),
    'still held for the creator',
  );
});

test("tether.cluster-aux from a user's --ipam-opt is refused: no network gets an address another holds", async () => {
  const [a, b] = [await open('a'), await open('b')];
  const poolId = await a.requestPool(pool('10.9.6.0/24'));
  await a.requestAddress({ poolId, options: {}, address: ip('10.9.6.10') });
  // What a user could type: the addresses themselves, or a pass already used, or one for another subnet.
  await assert.rejects(
    b.requestPool(pool('10.9.6.0/24', { 'tether.cluster-aux': '10.9.6.10' })),
    code('INVALID_OPTION'),
  );
  const pass = b.clusterAux.issue([subnet('10.9.6.0/24')], [ip('10.9.6.10')]);
  await assert.rejects(b.requestPool(pool('10.9.7.0/24', pass)), code('INVALID_OPTION'));
  assert.deepEqual((await b.allocations()).pools, [], 'a refused request holds no pool');
  await b.requestPool(pool('10.9.6.0/24', pass));
  await assert.rejects(b.requestPool(pool('10.9.6.0/24', pass)), code('INVALID_OPTION'), 'a pass is good once');
  // With the pool released, its mark goes too: the address is in use again for a plain request.
  await b.releasePool(poolId);
  await b.requestPool(pool('10.9.6.0/24'));
  await assert.rejects(b.requestAddress({ poolId, options: {}, address: ip('10.9.6.10') }), code('ADDRESS_IN_USE'));
});

test("a host whose watch was lost reads the IPAM again: others' allocations meanwhile reach its memory", async () => {
  const a = await sharedIpam(store, ipamConfig('a'));
  const poolId = await a.ipam.requestPool(pool('10.9.6.0/24'));
  store.loseWatches();
  // Host b opens after the loss: its watch is a new one. Its allocations are unseen by a's watch.
  const b = await open('b');
  await b.requestPool(pool('10.9.6.0/24'));
  for (let i = 0; i < 3; i++) await b.requestAddress({ poolId, options: {} });
  const used = () => a.report.usage().find((p) => p.id === formatPoolId(poolId))?.used;
  for (let i = 0; i < 100 && used() !== 3; i++) await sleep(20);
  assert.equal(used(), 3, "b's three addresses");
  // Followed again from there.
  await b.requestAddress({ poolId, options: {} });
  assert.equal(used(), 4);
});

test('an unreadable pool or block record stops no host: it is left out and listed', async () => {
  await store.commit(
    [],
    [
      { type: 'put', key: 'ipam/pools/local%2F10.9.7.0%2F24', value: '{"pool": "not a prefix"' },
      { type: 'put', key: 'ipam/blocks/local%2F10.9.8.0%2F24/10.9.8.0', value: '' },
    ],
  );
  const a = await sharedIpam(store, ipamConfig('a'));
  const poolId = await a.ipam.requestPool(pool('10.9.9.0/24'));
  assert.ok(await a.ipam.requestAddress({ poolId, options: {} }));
  assert.deepEqual(
    a.shared.unreadable().map((problem) => problem.split(' is ')[0]),
    ['IPAM record ipam/pools/local%2F10.9.7.0%2F24'],
  );
});
