// Block affinity between hosts sharing a store: each hands out addresses from
// blocks it claimed, borrows when none is left, and gives empty blocks back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { TetherError } from '../errors.js';
import { parseIp, parsePrefix } from '../net/ip.js';
import type { PoolId } from '../protocol/pool-id.js';
import { FaultyStore } from '../store/faulty.js';
import { SqliteStore } from '../store/sqlite.js';
import { sharedIpam } from './index.js';
import type { Ipam } from './ipam.js';
import { BLOCKS, parseBlock } from './records.js';
import { ipamConfig } from './testing.js';

let dir: string;
let store: FaultyStore;
const open = async (host: string) => {
  const built = await sharedIpam(store, ipamConfig(host));
  return Object.assign(built.ipam, { forgetHost: (dead: string) => built.shared.forgetHost(dead, []) });
};
const request = (subnet: string) => ({
  addressSpace: 'local',
  pool: parsePrefix(subnet) ?? assert.fail(subnet),
  options: {},
  v6: false,
});
const lastOctet = (cidr: string) => Number(cidr.split('/')[0]?.split('.')[3]);
/** Block (its first address's last octet) to the host that claimed it, as the store has them. */
const blocks = async () =>
  new Map(
    (await store.list(BLOCKS)).map((e) => [lastOctet(e.key.slice(e.key.lastIndexOf('/') + 1)), parseBlock(e.value)]),
  );
const many = (ipam: Pick<Ipam, 'requestAddress'>, poolId: PoolId, n: number) =>
  Promise.all(Array.from({ length: n }, () => ipam.requestAddress({ poolId, options: {} })));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-blocks-'));
  store = new FaultyStore(new SqliteStore(join(dir, 'db')));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true });
});

test('hosts allocating at once each draw from blocks of their own, without one failed write', async () => {
  const [a, b] = [await open('a'), await open('b')];
  const poolId = await a.requestPool(request('10.9.8.0/24'));
  await b.requestPool(request('10.9.8.0/24'));
  const writesBefore = store.writes;
  const [fromA, fromB] = await Promise.all([many(a, poolId, 20), many(b, poolId, 20)]);
  const owner = await blocks();
  const blockOf = (cidr: string) => lastOctet(cidr) - (lastOctet(cidr) % 64);
  assert.ok(
    fromA.every((x) => owner.get(blockOf(x)) === 'a'),
    `a's addresses in its blocks: ${fromA}`,
  );
  assert.ok(
    fromB.every((x) => owner.get(blockOf(x)) === 'b'),
    `b's addresses in its blocks: ${fromB}`,
  );
  // 40 addresses and one block claim each: no write was lost to the other host.
  assert.equal(store.writes - writesBefore, 42);
});

test('with every block claimed a host borrows free addresses from the others, to the last one', async () => {
  const [a, b] = [await open('a'), await open('b')];
  // A /27 is 4 blocks of 8, 30 usable addresses.
  const poolId = await a.requestPool(request('10.9.9.0/27'));
  await b.requestPool(request('10.9.9.0/27'));
  await many(a, poolId, 20);
  const fromB = await many(b, poolId, 10);
  assert.equal(new Set(fromB).size, 10);
  assert.deepEqual([...(await blocks()).values()].sort(), ['a', 'a', 'a', 'b']);
  await assert.rejects(
    b.requestAddress({ poolId, options: {} }),
    (error: unknown) => error instanceof TetherError && error.code === 'POOL_EXHAUSTED',
  );
});

test('an emptied block goes back to the pool while the host has another; a dead host loses its blocks', async () => {
  const [a, b] = [await open('a'), await open('b')];
  const poolId = await a.requestPool(request('10.9.10.0/26'));
  await b.requestPool(request('10.9.10.0/26'));
  // Blocks of 16: a fills one and starts a second.
  const fromA = await many(a, poolId, 18);
  assert.equal([...(await blocks()).values()].filter((h) => h === 'a').length, 2);
  const blockOf = (cidr: string) => lastOctet(cidr) - (lastOctet(cidr) % 16);
  const inBlock = (cidr: string) => fromA.filter((other) => blockOf(other) === blockOf(cidr)).length;
  const fewest = Math.min(...fromA.map(inBlock));
  const second = fromA.filter((cidr) => inBlock(cidr) === fewest);
  assert.ok(second.length <= 3, `${fromA}`);
  for (const cidr of second) await a.releaseAddress(poolId, parseIp(cidr.split('/')[0] ?? '') ?? assert.fail(cidr));
  assert.equal([...(await blocks()).values()].filter((h) => h === 'a').length, 1, 'the emptied block is given back');
  await many(b, poolId, 3);
  assert.equal(await a.forgetHost('b'), 3);
  assert.deepEqual([...(await blocks()).values()], ['a']);
});

test('a pool released by its last host takes its blocks with it', async () => {
  const a = await open('a');
  const poolId = await a.requestPool(request('10.9.11.0/24'));
  await many(a, poolId, 3);
  assert.equal((await blocks()).size, 1);
  await a.releasePool(poolId);
  assert.equal((await blocks()).size, 0);
});
